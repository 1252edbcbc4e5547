import NIOCore

/// The `chat.completion` object the OpenAI route answers with.
enum OpenAICompletionBody {
    /// What the assistant message holds.
    enum Message: Sendable {
        case text(String)
        /// One call of `name`; `arguments` is a JSON document, sent as a string as OpenAI does.
        case toolCall(id: String, name: String, arguments: String)
    }

    static func write(
        id: String,
        created: Int,
        model: String,
        message: Message,
        finishReason: String,
        promptTokens: Int,
        completionTokens: Int
    ) -> ByteBuffer {
        var writer = JSONWriter(capacity: 512)
        writer.raw("{\"id\":")
        writer.string(id)
        writer.raw(",\"object\":\"chat.completion\",\"created\":")
        writer.int(created)
        writer.raw(",\"model\":")
        writer.string(model)
        writer.raw(",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":")
        switch message {
        case .text(let text):
            writer.string(text)
            writer.raw(",\"refusal\":null")
        case .toolCall(let callID, let name, let arguments):
            writer.raw("null,\"refusal\":null,\"tool_calls\":[{\"id\":")
            writer.string(callID)
            writer.raw(",\"type\":\"function\",\"function\":{\"name\":")
            writer.string(name)
            writer.raw(",\"arguments\":")
            writer.string(arguments)
            writer.raw("}}]")
        }
        writer.raw("},\"logprobs\":null,\"finish_reason\":")
        writer.string(finishReason)
        writer.raw("}],\"usage\":{\"prompt_tokens\":")
        writer.int(promptTokens)
        writer.raw(",\"completion_tokens\":")
        writer.int(completionTokens)
        writer.raw(",\"total_tokens\":")
        writer.int(promptTokens + completionTokens)
        writer.raw("},\"system_fingerprint\":\"fp_mock\"}")
        return writer.buffer
    }
}
