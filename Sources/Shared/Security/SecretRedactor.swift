import Foundation

/// Takes key-shaped text out of messages that came from outside — an upstream's error body, a
/// transport error — before they are stored or shown to an admin (SYSTEM.md, guarantee 10).
/// OpenAI's 401 text, for one, quotes part of the key it was sent.
///
/// A word is redacted when it starts like a credential (`sk-`, `sk_`, `pk-`, `rk-`, `key-`,
/// `AKIA`, `AIza`, `xai-`, `gsk_`…), follows `Bearer`, or is a long run (24+) of key characters
/// holding a digit — the shape of a key or token, never of prose. Words are runs of
/// `[A-Za-z0-9_-*.+/=]`; what separates them is kept as it was.
public enum SecretRedactor {
    public static let replacement = "[redacted]"

    private static let prefixes = ["sk-", "sk_", "pk-", "pk_", "rk-", "rk_", "key-", "akia", "aiza", "xai-", "gsk_", "ghp_", "whsec_"]

    /// `text` with every key-shaped word, and every one of `secrets` (exact), replaced.
    public static func redact(_ text: String, secrets: [String] = []) -> String {
        var text = text
        for secret in secrets where secret.utf8.count >= 8 {
            text = text.replacingOccurrences(of: secret, with: replacement)
        }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var word = ""
        var afterBearer = false
        func flush() {
            guard !word.isEmpty else { return }
            let lowered = word.lowercased()
            if afterBearer || looksLikeKey(word, lowered: lowered) {
                out += replacement
            } else {
                out += word
            }
            afterBearer = lowered == "bearer"
            word = ""
        }
        for character in text {
            if isKeyCharacter(character) {
                word.append(character)
            } else {
                flush()
                out.append(character)
            }
        }
        flush()
        return out
    }

    private static func looksLikeKey(_ word: String, lowered: String) -> Bool {
        if word.count >= 6, prefixes.contains(where: { lowered.hasPrefix($0) }) { return true }
        guard word.count >= 24 else { return false }
        return word.contains(where: \.isNumber) && word.contains(where: \.isLetter) && !lowered.hasPrefix("http")
    }

    private static func isKeyCharacter(_ character: Character) -> Bool {
        guard character.isASCII, let ascii = character.asciiValue else { return false }
        switch ascii {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }
}
