import Foundation
import Hummingbird
import NIOCore

/// A reply as the dialect's server-sent events, as the providers stream it with `stream: true`:
/// the same text (or tool call) the non-streaming answer holds, split into several deltas — one
/// per word with the spaces after it, tool arguments in short pieces — so that a client
/// concatenating them gets the non-streaming content exactly.
///
/// OpenAI: `chat.completion.chunk`s (the role first, then the content, a chunk with the finish
/// reason, a usage chunk when `stream_options.include_usage` is true), then `data: [DONE]`.
/// Anthropic: `message_start`, `content_block_start`, `ping`, `content_block_delta`s,
/// `content_block_stop`, `message_delta` (stop reason, output tokens), `message_stop`.
struct EventStream: Sendable {
    struct Event: Sendable {
        var bytes: ByteBuffer
        /// Whether it carries a piece of the answer (the pause between deltas goes before these).
        var isDelta: Bool
    }

    var events: [Event]
    /// A text answer's delta event for any text, in the dialect: what the `stream_stamp` knob
    /// sends first. Nil for a tool call (its deltas are JSON arguments that a stamp would break).
    var textDelta: (@Sendable (String) -> ByteBuffer)? = nil

    /// The whole stream as one body.
    var joined: ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: self.events.reduce(0) { $0 + $1.bytes.readableBytes })
        for event in self.events { buffer.writeImmutableBuffer(event.bytes) }
        return buffer
    }

    /// The text in deltas: each word with the spaces that follow it (leading spaces are a delta of
    /// their own). Joined, they are the text.
    static func words(_ text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var inSpaces = false
        for character in text {
            if character == " " {
                inSpaces = true
            } else if inSpaces {
                pieces.append(current)
                current = ""
                inSpaces = false
            }
            current.append(character)
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    /// Tool arguments in pieces of a few characters, as the providers send them.
    static func pieces(_ text: String, size: Int = 12) -> [String] {
        var pieces: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            pieces.append(String(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return pieces
    }

    // MARK: OpenAI

    static func openAI(
        id: String,
        created: Int,
        model: String,
        message: OpenAICompletionBody.Message,
        finishReason: String,
        promptTokens: Int,
        completionTokens: Int,
        includeUsage: Bool
    ) -> EventStream {
        var events: [Event] = []
        @Sendable func chunkBytes(usage: Bool, _ choices: (inout JSONWriter) -> Void) -> ByteBuffer {
            var writer = JSONWriter(capacity: 256)
            writer.raw("data: {\"id\":")
            writer.string(id)
            writer.raw(",\"object\":\"chat.completion.chunk\",\"created\":")
            writer.int(created)
            writer.raw(",\"model\":")
            writer.string(model)
            writer.raw(",\"system_fingerprint\":\"fp_mock\",\"choices\":")
            choices(&writer)
            if usage {
                writer.raw(",\"usage\":{\"prompt_tokens\":")
                writer.int(promptTokens)
                writer.raw(",\"completion_tokens\":")
                writer.int(completionTokens)
                writer.raw(",\"total_tokens\":")
                writer.int(promptTokens + completionTokens)
                writer.raw("}")
            } else if includeUsage {
                writer.raw(",\"usage\":null")
            }
            writer.raw("}\n\n")
            return writer.buffer
        }
        func chunk(_ isDelta: Bool, usage: Bool = false, _ choices: (inout JSONWriter) -> Void) {
            events.append(Event(bytes: chunkBytes(usage: usage, choices), isDelta: isDelta))
        }
        @Sendable func deltaBytes(finishReason: String? = nil, _ body: (inout JSONWriter) -> Void) -> ByteBuffer {
            chunkBytes(usage: false) { writer in
                writer.raw("[{\"index\":0,\"delta\":{")
                body(&writer)
                writer.raw("},\"logprobs\":null,\"finish_reason\":")
                writer.string(finishReason)
                writer.raw("}]")
            }
        }
        func delta(_ isDelta: Bool, finishReason: String? = nil, _ body: (inout JSONWriter) -> Void) {
            events.append(Event(bytes: deltaBytes(finishReason: finishReason, body), isDelta: isDelta))
        }
        @Sendable func contentBytes(_ text: String) -> ByteBuffer {
            deltaBytes { writer in
                writer.raw("\"content\":")
                writer.string(text)
            }
        }
        var textDelta: (@Sendable (String) -> ByteBuffer)?
        switch message {
        case .text(let text):
            delta(false) { $0.raw("\"role\":\"assistant\",\"content\":\"\",\"refusal\":null") }
            for word in words(text) {
                events.append(Event(bytes: contentBytes(word), isDelta: true))
            }
            textDelta = contentBytes
        case .toolCall(let callID, let name, let arguments):
            delta(false) { writer in
                writer.raw("\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":")
                writer.string(callID)
                writer.raw(",\"type\":\"function\",\"function\":{\"name\":")
                writer.string(name)
                writer.raw(",\"arguments\":\"\"}}],\"refusal\":null")
            }
            for piece in pieces(arguments) {
                delta(true) { writer in
                    writer.raw("\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":")
                    writer.string(piece)
                    writer.raw("}}]")
                }
            }
        }
        delta(false, finishReason: finishReason) { _ in }
        if includeUsage { chunk(false, usage: true) { $0.raw("[]") } }
        var done = ByteBufferAllocator().buffer(capacity: 14)
        done.writeStaticString("data: [DONE]\n\n")
        events.append(Event(bytes: done, isDelta: false))
        return EventStream(events: events, textDelta: textDelta)
    }

    // MARK: Anthropic

    static func anthropic(
        id: String,
        model: String,
        block: AnthropicMessageBody.Block,
        stopReason: String,
        inputTokens: Int,
        outputTokens: Int
    ) -> EventStream {
        var events: [Event] = []
        @Sendable func eventBytes(_ name: StaticString, _ body: (inout JSONWriter) -> Void) -> ByteBuffer {
            var writer = JSONWriter(capacity: 256)
            writer.raw("event: ")
            writer.raw(name)
            writer.raw("\ndata: {\"type\":\"")
            writer.raw(name)
            writer.raw("\"")
            body(&writer)
            writer.raw("}\n\n")
            return writer.buffer
        }
        func event(_ name: StaticString, _ isDelta: Bool = false, _ body: (inout JSONWriter) -> Void) {
            events.append(Event(bytes: eventBytes(name, body), isDelta: isDelta))
        }
        @Sendable func textBytes(_ text: String) -> ByteBuffer {
            eventBytes("content_block_delta") { writer in
                writer.raw(",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":")
                writer.string(text)
                writer.raw("}")
            }
        }
        var textDelta: (@Sendable (String) -> ByteBuffer)?
        event("message_start") { writer in
            writer.raw(",\"message\":{\"id\":")
            writer.string(id)
            writer.raw(",\"type\":\"message\",\"role\":\"assistant\",\"model\":")
            writer.string(model)
            writer.raw(",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":")
            writer.int(inputTokens)
            writer.raw(",\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}")
        }
        switch block {
        case .text(let text):
            event("content_block_start") { $0.raw(",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}") }
            event("ping") { _ in }
            for word in words(text) {
                events.append(Event(bytes: textBytes(word), isDelta: true))
            }
            textDelta = textBytes
        case .toolUse(let blockID, let name, let input):
            event("content_block_start") { writer in
                writer.raw(",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":")
                writer.string(blockID)
                writer.raw(",\"name\":")
                writer.string(name)
                writer.raw(",\"input\":{}}")
            }
            event("ping") { _ in }
            for piece in pieces(input) {
                event("content_block_delta", true) { writer in
                    writer.raw(",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":")
                    writer.string(piece)
                    writer.raw("}")
                }
            }
        }
        event("content_block_stop") { $0.raw(",\"index\":0") }
        event("message_delta") { writer in
            writer.raw(",\"delta\":{\"stop_reason\":")
            writer.string(stopReason)
            writer.raw(",\"stop_sequence\":null},\"usage\":{\"output_tokens\":")
            writer.int(outputTokens)
            writer.raw("}")
        }
        event("message_stop") { _ in }
        return EventStream(events: events, textDelta: textDelta)
    }

    // MARK: the answer

    /// The stream as a `200 text/event-stream` answer, `pause` between two deltas. `truncated`
    /// (the `malformed` failure mode) ends the body cleanly halfway, before the end event: a
    /// stream that stops short, as a provider's does when it fails mid-answer. `stamp` (the
    /// `stream_stamp` knob) sends a text answer's ``stampText()`` as one extra delta before the
    /// others, timed when it is written.
    func response(pause: Duration, truncated: Bool, stamp: Bool = false) -> Response {
        let events = self.events
        let stampDelta = stamp ? self.textDelta : nil
        let half = truncated ? self.joined.getSlice(at: 0, length: self.joined.readableBytes / 2) : nil
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                if let half {
                    try await writer.write(half)
                } else {
                    var sentDelta = false
                    for event in events {
                        if event.isDelta {
                            if let stampDelta, !sentDelta {
                                try await writer.write(stampDelta(Self.stampText()))
                                sentDelta = true
                            }
                            if sentDelta && pause > .zero { try await Task.sleep(for: pause) }
                            sentDelta = true
                        }
                        try await writer.write(event.bytes)
                    }
                }
                try await writer.finish(nil)
            }
        )
    }

    /// `[t=<microseconds since the epoch, now>] `: the stamp delta's text.
    static func stampText() -> String {
        "[t=\(Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()))] "
    }
}
