import NIOCore

/// A completion in either dialect with any of its parts replaced by raw bytes: the hostile mode's
/// wrong types, absurd numbers and bad strings all live inside an otherwise normal body, so that a
/// client has to read far enough to meet them.
///
/// Raw parts are bytes, not `String`, because one of them (`invalid_utf8`) is not UTF-8.
struct HostileReplyBody: Sendable {
    var dialect: Dialect
    var requestID: String
    var model: String
    var text: String
    var promptTokens: Int
    var completionTokens: Int
    /// Seconds since 1970, OpenAI's `created`.
    var created: Int

    /// The parts that can be replaced; nil keeps the normal one.
    struct Overrides: Sendable {
        /// The message content (Anthropic: the text block's `text`), a JSON value.
        var content: [UInt8]?
        var promptTokens: [UInt8]?
        var completionTokens: [UInt8]?
        var totalTokens: [UInt8]?
        /// OpenAI's whole `choices` value; Anthropic's whole `content` value.
        var choices: [UInt8]?
        /// OpenAI's `message.tool_calls`; Anthropic's `content` (its tool_use blocks).
        var toolCalls: [UInt8]?
    }

    func write(_ overrides: Overrides = Overrides()) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 512 + self.text.utf8.count + (overrides.content?.count ?? 0))
        let content = overrides.content ?? Self.quoted(self.text)
        let prompt = overrides.promptTokens ?? Array(String(self.promptTokens).utf8)
        let completion = overrides.completionTokens ?? Array(String(self.completionTokens).utf8)
        switch self.dialect {
        case .openAI:
            buffer.writeString("{\"id\":")
            buffer.writeBytes(Self.quoted("chatcmpl-" + self.requestID))
            buffer.writeString(",\"object\":\"chat.completion\",\"created\":\(self.created),\"model\":")
            buffer.writeBytes(Self.quoted(self.model))
            buffer.writeString(",\"choices\":")
            if let choices = overrides.choices {
                buffer.writeBytes(choices)
            } else {
                buffer.writeString("[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":")
                if let toolCalls = overrides.toolCalls {
                    buffer.writeString("null,\"refusal\":null,\"tool_calls\":")
                    buffer.writeBytes(toolCalls)
                } else {
                    buffer.writeBytes(content)
                    buffer.writeString(",\"refusal\":null")
                }
                buffer.writeString("},\"logprobs\":null,\"finish_reason\":")
                buffer.writeString(overrides.toolCalls == nil ? "\"stop\"" : "\"tool_calls\"")
                buffer.writeString("}]")
            }
            buffer.writeString(",\"usage\":{\"prompt_tokens\":")
            buffer.writeBytes(prompt)
            buffer.writeString(",\"completion_tokens\":")
            buffer.writeBytes(completion)
            buffer.writeString(",\"total_tokens\":")
            // the normal sum; with overrides, what the override says (its sum may not exist)
            buffer.writeBytes(overrides.totalTokens ?? Array(String(self.promptTokens + self.completionTokens).utf8))
            buffer.writeString("},\"system_fingerprint\":\"fp_mock\"}")
        case .anthropic:
            buffer.writeString("{\"id\":")
            buffer.writeBytes(Self.quoted("msg_" + self.requestID))
            buffer.writeString(",\"type\":\"message\",\"role\":\"assistant\",\"model\":")
            buffer.writeBytes(Self.quoted(self.model))
            buffer.writeString(",\"content\":")
            if let choices = overrides.choices {
                buffer.writeBytes(choices)
            } else if let toolCalls = overrides.toolCalls {
                buffer.writeBytes(toolCalls)
            } else {
                buffer.writeString("[{\"type\":\"text\",\"text\":")
                buffer.writeBytes(content)
                buffer.writeString("}]")
            }
            buffer.writeString(",\"stop_reason\":")
            buffer.writeString(overrides.toolCalls == nil ? "\"end_turn\"" : "\"tool_use\"")
            buffer.writeString(",\"stop_sequence\":null,\"usage\":{\"input_tokens\":")
            buffer.writeBytes(prompt)
            buffer.writeString(",\"output_tokens\":")
            buffer.writeBytes(completion)
            buffer.writeString(",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}")
        }
        return buffer
    }

    /// `text` as a quoted, escaped JSON string.
    static func quoted(_ text: String) -> [UInt8] {
        var writer = JSONWriter(capacity: text.utf8.count + 2)
        writer.string(text)
        return Array(buffer: writer.buffer)
    }
}
