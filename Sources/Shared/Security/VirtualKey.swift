import Crypto
import Foundation

/// Team virtual keys: `sk-` + 43 URL-safe characters (32 random bytes), minted from the system's
/// cryptographic generator. Only a SHA-256 of the key is stored: the keys are high-entropy, so a
/// plain hash is enough and makes lookup one index probe (no per-key salt to scan for).
public enum VirtualKey {
    public static let prefixLength = 12

    public static func mint() -> MintedKey {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let key = "sk-" + base64URL(bytes)
        return MintedKey(key: key, prefix: String(key.prefix(prefixLength)), hash: hash(key))
    }

    public static func hash(_ key: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(key.utf8)))
    }

    /// True for strings shaped like a virtual key; anything else is refused before a lookup.
    public static func isWellFormed(_ key: String) -> Bool {
        key.hasPrefix("sk-") && key.utf8.count >= 35 && key.utf8.count <= 200
            && key.utf8.dropFirst(3).allSatisfy { isURLSafe($0) }
    }

    /// Base64url without padding (RFC 4648 §5): cookie-, header- and path-safe text for random bytes.
    public static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// True for the bytes ``base64URL(_:)`` writes: `0-9`, `A-Z`, `a-z`, `-` and `_`.
    public static func isURLSafe(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 45 || byte == 95
    }
}

/// Compares secrets in time that depends only on their lengths, not on where they differ.
public func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    // Hash both so the comparison runs over equal lengths whatever was sent.
    let hx = Array(SHA256.hash(data: x))
    let hy = Array(SHA256.hash(data: y))
    var difference: UInt8 = 0
    for i in 0..<hx.count { difference |= hx[i] ^ hy[i] }
    return difference == 0 && x.count == y.count
}

/// A short, stable, non-reversible name for a secret, for audit logs: who acted, without the key.
public func keyFingerprint(_ key: String) -> String {
    SHA256.hash(data: Array(key.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
}
