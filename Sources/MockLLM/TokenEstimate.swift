/// The mock's stand-in for a tokenizer.
///
/// Real usage numbers come from a model's tokenizer; the mock only needs numbers that grow with the
/// input the way real ones do, are cheap to compute, and can be predicted by a test or a billing
/// check: about four characters per token, plus a fixed overhead per message (the role and the
/// separators a chat template adds).
///
/// A "character" is a Unicode scalar (what Python's `len` counts): the same as a character for
/// ASCII, and countable without grapheme segmentation on bodies of several MiB.
enum TokenEstimate {
    /// Tokens a chat template adds around each message.
    static let tokensPerMessage = 3

    /// Characters of a text, as the estimate counts them.
    @inlinable
    static func characters(_ text: String) -> Int {
        text.unicodeScalars.count
    }

    /// Tokens of `characters` characters: a quarter, rounded up, and at least one.
    @inlinable
    static func tokens(characters: Int) -> Int {
        max(1, (characters + 3) / 4)
    }

    /// Tokens of a prompt: its characters as above, plus `tokensPerMessage` per message.
    @inlinable
    static func promptTokens(characters: Int, messages: Int) -> Int {
        tokens(characters: characters) + tokensPerMessage * messages
    }
}
