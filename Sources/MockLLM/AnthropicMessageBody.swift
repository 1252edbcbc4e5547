import NIOCore

/// The `message` object the Anthropic route answers with.
enum AnthropicMessageBody {
    /// What the content holds: one block.
    enum Block: Sendable {
        case text(String)
        /// A call of `name`; `input` is a JSON object, sent as an object as Anthropic does.
        case toolUse(id: String, name: String, input: String)
    }

    static func write(
        id: String,
        model: String,
        block: Block,
        stopReason: String,
        inputTokens: Int,
        outputTokens: Int
    ) -> ByteBuffer {
        var writer = JSONWriter(capacity: 512)
        writer.raw("{\"id\":")
        writer.string(id)
        writer.raw(",\"type\":\"message\",\"role\":\"assistant\",\"model\":")
        writer.string(model)
        writer.raw(",\"content\":[")
        switch block {
        case .text(let text):
            writer.raw("{\"type\":\"text\",\"text\":")
            writer.string(text)
            writer.raw("}")
        case .toolUse(let blockID, let name, let input):
            writer.raw("{\"type\":\"tool_use\",\"id\":")
            writer.string(blockID)
            writer.raw(",\"name\":")
            writer.string(name)
            writer.raw(",\"input\":")
            writer.raw(input)
            writer.raw("}")
        }
        writer.raw("],\"stop_reason\":")
        writer.string(stopReason)
        writer.raw(",\"stop_sequence\":null,\"usage\":{\"input_tokens\":")
        writer.int(inputTokens)
        writer.raw(",\"output_tokens\":")
        writer.int(outputTokens)
        writer.raw(",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}")
        return writer.buffer
    }
}
