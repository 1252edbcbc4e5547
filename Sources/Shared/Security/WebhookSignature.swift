import Crypto
import Foundation

/// The Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256, keyed by the secret's
/// bytes, of `"<webhook-id>.<webhook-timestamp>.<body>"`. The id and timestamp are signed so a
/// captured delivery cannot be replayed under another id or much later.
public enum WebhookSignature {
    /// The `webhook-signature` value for one delivery attempt; nil when the secret is malformed.
    public static func sign(id: String, timestamp: Int, body: [UInt8], secret: String) -> String? {
        guard let key = WebhookSecret.key(of: secret) else { return nil }
        let code = HMAC<SHA256>.authenticationCode(
            for: signedContent(id: id, timestamp: timestamp, body: body),
            using: SymmetricKey(data: key)
        )
        return "v1," + Data(code).base64EncodedString()
    }

    /// True when `timestamp` is within `tolerance` seconds of `now` and any `v1,` entry of the
    /// space-separated header is the signature of this delivery. Entries of other versions are
    /// ignored (a receiver may see several during a key rotation). Each candidate is compared in
    /// constant time, so the answer's timing does not tell how much of a forgery was right.
    public static func verify(
        id: String,
        timestamp: Int,
        body: [UInt8],
        signatureHeader: String,
        secret: String,
        now: Int,
        tolerance: Int = 300
    ) -> Bool {
        guard let key = WebhookSecret.key(of: secret) else { return false }
        let (age, overflow) = now.subtractingReportingOverflow(timestamp)
        guard !overflow, age.magnitude <= tolerance.magnitude else { return false }
        let content = signedContent(id: id, timestamp: timestamp, body: body)
        let symmetricKey = SymmetricKey(data: key)
        var matched = false
        for entry in signatureHeader.split(separator: " ", omittingEmptySubsequences: true) {
            guard entry.hasPrefix("v1,"), let code = Data(base64Encoded: String(entry.dropFirst(3))) else { continue }
            if HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: content, using: symmetricKey) {
                matched = true
            }
        }
        return matched
    }

    private static func signedContent(id: String, timestamp: Int, body: [UInt8]) -> [UInt8] {
        Array("\(id).\(timestamp).".utf8) + body
    }
}
