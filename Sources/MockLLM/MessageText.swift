/// The text of a message's content, whatever shape it was sent in.
///
/// OpenAI accepts a string, null (an assistant message that only calls tools) or an array of parts
/// (`{"type":"text","text":…}`, `{"type":"image_url",…}`); Anthropic accepts a string or an array of
/// blocks, where a `tool_result` block nests its own content. Only text counts towards the
/// estimate: images and tool inputs are ignored, like a mock can afford to.
struct MessageText: Sendable, Decodable {
    /// The text parts, joined by newlines.
    var text: String
    /// Characters of the text parts (separators not included), as `TokenEstimate` counts them.
    var characters: Int

    init(_ text: String) {
        self.init(text: text, characters: TokenEstimate.characters(text))
    }

    private init(text: String, characters: Int) {
        self.text = text
        self.characters = characters
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self.init("")
            return
        }
        if let text = try? container.decode(String.self) {
            self.init(text)
            return
        }
        let parts = try container.decode([Part].self)
        var text = ""
        var characters = 0
        for part in parts {
            guard let partText = part.text ?? part.content?.text else { continue }
            if !text.isEmpty { text.append("\n") }
            text.append(partText)
            characters += part.text.map(TokenEstimate.characters) ?? part.content?.characters ?? 0
        }
        self.init(text: text, characters: characters)
    }

    /// One part (OpenAI) or block (Anthropic) of a content array.
    private struct Part: Decodable {
        var text: String?
        /// A `tool_result` block's own content.
        var content: MessageText?
    }
}
