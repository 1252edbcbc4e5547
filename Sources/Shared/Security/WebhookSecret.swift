import Foundation

/// The signing secret of a team's webhook endpoint, in the Standard Webhooks form: `whsec_` and
/// the base64 of 32 random bytes. The receiver's library decodes the part after the prefix and
/// uses those bytes as the HMAC key, so the key is the decoded bytes, never the text.
public enum WebhookSecret {
    /// The fixed prefix receivers' libraries recognise and strip.
    public static let prefix = "whsec_"

    /// A new secret from the system's cryptographic generator.
    public static func mint() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return prefix + Data(bytes).base64EncodedString()
    }

    /// The HMAC key a secret stands for: the base64-decoded bytes after `whsec_`; nil when the
    /// prefix is missing or the rest is not base64 of at least one byte.
    public static func key(of secret: String) -> [UInt8]? {
        guard secret.hasPrefix(prefix) else { return nil }
        guard let bytes = Data(base64Encoded: String(secret.dropFirst(prefix.count))), !bytes.isEmpty else {
            return nil
        }
        return Array(bytes)
    }
}
