/// The body of `POST /v1/messages`, as far as the mock reads it.
///
/// Optional fields, so that a missing one gets Anthropic's own sentence (`max_tokens: Field
/// required`); fields the mock does not use (`metadata`, `stop_sequences`, …) are ignored.
struct AnthropicMessagesRequest: Sendable, Decodable {
    var model: String?
    var maxTokens: Int?
    /// A string or an array of text blocks.
    var system: MessageText?
    var messages: [Message]?
    var tools: [Tool]?
    var toolChoice: JSONValue?
    var temperature: Double?
    var stream: Bool?

    enum CodingKeys: String, CodingKey {
        case model, system, messages, tools, temperature, stream
        case maxTokens = "max_tokens"
        case toolChoice = "tool_choice"
    }

    struct Message: Sendable, Decodable {
        var role: String
        var content: MessageText?
    }

    /// `{"name","description","input_schema"}`
    struct Tool: Sendable, Decodable {
        var name: String
        var inputSchema: JSONValue?

        enum CodingKeys: String, CodingKey {
            case name
            case inputSchema = "input_schema"
        }
    }

    /// The tool to call, or nil for a text reply: none offered, or `tool_choice` is
    /// `{"type":"none"}`. `{"type":"tool","name":…}` picks that tool; anything else the first.
    var toolToCall: ToolSpec? {
        let offered = (self.tools ?? []).map { ToolSpec(name: $0.name, schema: $0.inputSchema) }
        if self.toolChoice?["type"]?.stringValue == "none" { return nil }
        return ToolSpec.pick(offered, named: self.toolChoice?["name"]?.stringValue)
    }
}
