import Hummingbird
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The hostile answers that are about the wire, not the content: bodies sent slowly, bodies cut by
/// a reset, and an event stream where one JSON document was expected.
enum HostileTransport {
    /// Ticks of a trickle, 100 ms apart: about four seconds for any body.
    static let trickleTicks = 40
    static let trickleInterval = Duration.milliseconds(100)

    /// The body, a few bytes every 100 ms, with its `Content-Length` announced up front: a client
    /// whose only bound is a per-read idle timeout waits it out; one with a deadline gives up.
    static func trickle(_ body: ByteBuffer, headers: HTTPFields) -> Response {
        let chunkSize = max(1, (body.readableBytes + trickleTicks - 1) / trickleTicks)
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody(contentLength: body.readableBytes) { writer in
                var remaining = body
                while let chunk = remaining.readSlice(length: min(chunkSize, remaining.readableBytes)), chunk.readableBytes > 0 {
                    try await writer.write(chunk)
                    if remaining.readableBytes > 0 { try await Task.sleep(for: trickleInterval) }
                }
                try await writer.finish(nil)
            }
        )
    }

    /// The head and half the body of a `Content-Length` announcing all of it, then a TCP reset
    /// (`SO_LINGER` 0, where the channel allows it; a plain close otherwise).
    static func resetMidBody(_ body: ByteBuffer, headers: HTTPFields, channel: (any Channel)?) -> Response {
        Response(
            status: .ok,
            headers: headers,
            body: ResponseBody(contentLength: body.readableBytes) { writer in
                try await writer.write(body.getSlice(at: body.readerIndex, length: body.readableBytes / 2) ?? ByteBuffer())
                // let the half reach the client before the reset discards what is still buffered
                try await Task.sleep(for: .milliseconds(50))
                if let provider = channel as? any SocketOptionProvider {
                    try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
                }
                // closed here, before Hummingbird would finish the output (a FIN) on seeing the error
                try? await channel?.close()
                throw ResetMidBody()
            }
        )
    }

    struct ResetMidBody: Error {}

    /// The reply as the dialect's stream of server-sent events, `[DONE]` or `message_stop` included:
    /// what a streamed answer is (``EventStream``), sent where one JSON document was expected.
    static func eventStream(_ reply: HostileReplyBody) -> ByteBuffer {
        switch reply.dialect {
        case .openAI:
            return EventStream.openAI(
                id: "chatcmpl-" + reply.requestID,
                created: reply.created,
                model: reply.model,
                message: .text(reply.text),
                finishReason: "stop",
                promptTokens: reply.promptTokens,
                completionTokens: reply.completionTokens,
                includeUsage: true
            ).joined
        case .anthropic:
            return EventStream.anthropic(
                id: "msg_" + reply.requestID,
                model: reply.model,
                block: .text(reply.text),
                stopReason: "end_turn",
                inputTokens: reply.promptTokens,
                outputTokens: reply.completionTokens
            ).joined
        }
    }
}
