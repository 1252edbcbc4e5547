/// The body of `POST /v1/chat/completions`, as far as the mock reads it.
///
/// Every field is optional here so that a missing one gets the provider's own 400 sentence, not a
/// decoder's; fields the mock does not use (`n`, `seed`, `user`, …) are ignored, like new fields
/// a client may send.
struct OpenAIChatRequest: Sendable, Decodable {
    var model: String?
    var messages: [Message]?
    var maxTokens: Int?
    var maxCompletionTokens: Int?
    var temperature: Double?
    var topP: Double?
    var tools: [Tool]?
    var toolChoice: JSONValue?
    var responseFormat: ResponseFormat?
    var stop: JSONValue?
    var stream: Bool?
    /// `{"include_usage": true}` adds the usage chunk to a stream.
    var streamOptions: StreamOptions?

    enum CodingKeys: String, CodingKey {
        case model, messages, temperature, tools, stop, stream
        case streamOptions = "stream_options"
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case topP = "top_p"
        case toolChoice = "tool_choice"
        case responseFormat = "response_format"
    }

    struct Message: Sendable, Decodable {
        var role: String
        var content: MessageText?
    }

    /// `{"type":"function","function":{"name","description","parameters"}}`
    struct Tool: Sendable, Decodable {
        var type: String?
        var function: Function?

        struct Function: Sendable, Decodable {
            var name: String
            var parameters: JSONValue?
        }
    }

    /// `{"type":"text"|"json_object"|"json_schema","json_schema":{"name","schema"}}`
    struct ResponseFormat: Sendable, Decodable {
        var type: String
        var jsonSchema: JSONSchema?

        enum CodingKeys: String, CodingKey {
            case type
            case jsonSchema = "json_schema"
        }

        struct JSONSchema: Sendable, Decodable {
            var schema: JSONValue?
        }
    }

    struct StreamOptions: Sendable, Decodable {
        var includeUsage: Bool?

        enum CodingKeys: String, CodingKey {
            case includeUsage = "include_usage"
        }
    }

    /// Whether the answer is JSON for a `json_schema` (a text answer: no tool is called), the
    /// answers `schema_violations` counts.
    var asksForSchema: Bool {
        self.responseFormat?.type == "json_schema" && self.toolToCall == nil
    }

    /// The limit on the reply: `max_completion_tokens`, or the older `max_tokens`.
    var replyTokenLimit: Int? {
        self.maxCompletionTokens ?? self.maxTokens
    }

    /// The tool to call, or nil for a text reply: none offered, or `tool_choice` is `"none"`.
    /// `{"type":"function","function":{"name":…}}` picks that tool; anything else the first.
    var toolToCall: ToolSpec? {
        let offered = (self.tools ?? []).compactMap { tool in
            tool.function.map { ToolSpec(name: $0.name, schema: $0.parameters) }
        }
        if self.toolChoice?.stringValue == "none" { return nil }
        return ToolSpec.pick(offered, named: self.toolChoice?["function"]?["name"]?.stringValue)
    }
}
