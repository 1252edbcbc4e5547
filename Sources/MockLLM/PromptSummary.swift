/// What the mock retains of a prompt: enough to size it and to derive a reply from it.
///
/// Both dialects fill one from their own request shape, so the token estimate and the reply are
/// computed the same way for OpenAI and Anthropic calls.
struct PromptSummary: Sendable {
    private(set) var characters = 0
    private(set) var messages = 0
    /// The text of the last message sent with the role `user`, the one the reply quotes.
    private(set) var lastUserText = ""
    private var hash = StableHash()

    init(model: String) {
        self.hash.add(model)
    }

    /// Adds one message (or Anthropic's system prompt, which counts as one).
    mutating func add(role: String, content: MessageText) {
        self.characters += content.characters
        self.messages += 1
        if role == "user" { self.lastUserText = content.text }
        self.hash.add(role)
        self.hash.add(content.text)
    }

    /// The prompt's tokens by `TokenEstimate`.
    var promptTokens: Int {
        TokenEstimate.promptTokens(characters: self.characters, messages: self.messages)
    }

    /// Eight hex digits that change with the model, any role or any text of the prompt.
    var fingerprint: String {
        self.hash.hex8
    }
}

/// FNV-1a over UTF-8, 64 bits: unlike `Hasher`, the same in every process and every run, so the
/// same request gets the same reply from any instance of the mock.
struct StableHash: Sendable {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            self.state = (self.state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        // a separator, so that ("ab", "c") and ("a", "bc") differ
        self.state = (self.state ^ 0xFF) &* 0x0000_0100_0000_01B3
    }

    var hex8: String {
        let folded = UInt32(truncatingIfNeeded: self.state ^ (self.state >> 32))
        let digits = String(folded, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
