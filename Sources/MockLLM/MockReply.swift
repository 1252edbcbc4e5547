/// The deterministic text the mock "generates".
///
/// Derived from the prompt only, so the same request always gets the same content (tests can assert
/// it, and results can be compared across runs), while different prompts get visibly different
/// content: the size of the prompt, the start of the last user message and a fingerprint of all of it.
enum MockReply {
    /// How much of the last user message the reply quotes.
    static let excerptLength = 40

    /// `mock analysis of <N> characters: <first 40 characters of the last user message…> [<fingerprint>]`
    static func text(for prompt: PromptSummary) -> String {
        "mock analysis of \(prompt.characters) characters: \(excerpt(prompt.lastUserText)) [\(prompt.fingerprint)]"
    }

    /// The first `excerptLength` characters, with an ellipsis when there was more.
    static func excerpt(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > excerptLength else { return text }
        let end = scalars.index(scalars.startIndex, offsetBy: excerptLength)
        return String(scalars[..<end]) + "…"
    }

    /// The reply cut to `maxTokens`: what a model stopped by its token limit returns.
    ///
    /// - Returns: the text, its tokens by `TokenEstimate` (at most `maxTokens`), and whether it was cut.
    static func limited(_ text: String, maxTokens: Int?) -> (text: String, tokens: Int, truncated: Bool) {
        let characters = TokenEstimate.characters(text)
        let tokens = TokenEstimate.tokens(characters: characters)
        guard let maxTokens, tokens > maxTokens else { return (text, tokens, false) }
        let scalars = text.unicodeScalars
        let end = scalars.index(scalars.startIndex, offsetBy: maxTokens * 4)
        return (String(scalars[..<end]), maxTokens, true)
    }
}
