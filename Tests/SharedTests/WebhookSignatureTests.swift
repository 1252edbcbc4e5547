import Foundation
import Testing

@testable import Shared

/// The Standard Webhooks signature, held to the specification's published vector: a round trip
/// through our own verifier would pass with the delimiter, the key decoding or the base64
/// alphabet all wrong; reproducing the reference implementation's signature is what says a
/// receiver's library will accept ours.
@Suite("Webhook signature")
struct WebhookSignatureTests {
    // The published test vector of the Standard Webhooks reference libraries:
    // github.com/standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py,
    // `test_sign_function` (the same values appear in the JavaScript, Go, Rust and PHP libraries).
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let timestamp = 1_614_265_330
    static let body = Array(#"{"test": 2432232314}"#.utf8)
    static let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    @Test("signs the published vector exactly")
    func publishedVector() {
        #expect(WebhookSignature.sign(id: Self.id, timestamp: Self.timestamp, body: Self.body, secret: Self.secret) == Self.expected)
    }

    @Test("verifies the published vector within the tolerance")
    func verifiesVector() {
        #expect(verify(header: Self.expected, now: Self.timestamp))
        #expect(verify(header: Self.expected, now: Self.timestamp + 300))
        #expect(verify(header: Self.expected, now: Self.timestamp - 300))
    }

    @Test("refuses a wrong secret, a tampered body, id or timestamp")
    func refusesForgeries() {
        let other = WebhookSecret.mint()
        #expect(!verify(header: Self.expected, secret: other, now: Self.timestamp))
        #expect(!verify(header: Self.expected, body: Array(#"{"test": 2432232315}"#.utf8), now: Self.timestamp))
        #expect(!verify(header: Self.expected, id: "msg_other", now: Self.timestamp))
        #expect(
            !WebhookSignature.verify(
                id: Self.id,
                timestamp: Self.timestamp + 1,
                body: Self.body,
                signatureHeader: Self.expected,
                secret: Self.secret,
                now: Self.timestamp
            )
        )
        // The Python library's own "invalid signature": one character changed.
        #expect(!verify(header: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", now: Self.timestamp))
    }

    @Test("refuses a timestamp outside the tolerance, in either direction")
    func refusesOldAndFuture() {
        #expect(!verify(header: Self.expected, now: Self.timestamp + 301))
        #expect(!verify(header: Self.expected, now: Self.timestamp - 301))
        #expect(verify(header: Self.expected, now: Self.timestamp + 3_600, tolerance: 3_600))
    }

    @Test("accepts any matching v1 entry among several, ignores other versions and junk")
    func multipleSignatures() {
        let header = [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            Self.expected,
            "v1,not-base64!",
        ].joined(separator: " ")
        #expect(verify(header: header, now: Self.timestamp))
        #expect(!verify(header: "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,abc", now: Self.timestamp))
        #expect(!verify(header: "v2," + Self.expected.dropFirst(3), now: Self.timestamp))
        #expect(!verify(header: "", now: Self.timestamp))
    }

    @Test("secrets are whsec_ and the base64 of 32 random bytes, each one new")
    func mintedSecrets() throws {
        let first = WebhookSecret.mint()
        let second = WebhookSecret.mint()
        #expect(first != second)
        #expect(first.hasPrefix("whsec_"))
        let key = try #require(WebhookSecret.key(of: first))
        #expect(key.count == 32)
        let signature = try #require(WebhookSignature.sign(id: "msg_1", timestamp: 10, body: [1, 2, 3], secret: first))
        #expect(WebhookSignature.verify(id: "msg_1", timestamp: 10, body: [1, 2, 3], signatureHeader: signature, secret: first, now: 10))
        #expect(!WebhookSignature.verify(id: "msg_1", timestamp: 10, body: [1, 2, 3], signatureHeader: signature, secret: second, now: 10))
    }

    @Test("a malformed secret has no key and signs nothing")
    func malformedSecrets() {
        for secret in ["", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "sk-abc"] {
            #expect(WebhookSecret.key(of: secret) == nil, "\(secret)")
            #expect(WebhookSignature.sign(id: "a", timestamp: 1, body: [], secret: secret) == nil, "\(secret)")
            #expect(!WebhookSignature.verify(id: "a", timestamp: 1, body: [], signatureHeader: Self.expected, secret: secret, now: 1))
        }
    }

    private func verify(
        header: String,
        secret: String = WebhookSignatureTests.secret,
        id: String = WebhookSignatureTests.id,
        body: [UInt8] = WebhookSignatureTests.body,
        now: Int,
        tolerance: Int = 300
    ) -> Bool {
        WebhookSignature.verify(
            id: id,
            timestamp: Self.timestamp,
            body: body,
            signatureHeader: header,
            secret: secret,
            now: now,
            tolerance: tolerance
        )
    }
}
