import AsyncHTTPClient
import Foundation
import NIOHTTP1
import Shared

extension OpenAIUpstream {
    func stream(_ request: UpstreamRequest, at endpoint: UpstreamEndpoint, into sink: any DeltaSink) async throws(UpstreamFailure) -> UpstreamResponse
    {
        var http = try Self.httpRequest(request, at: endpoint, stream: true)
        http.headers.add(name: "Accept", value: "text/event-stream")
        return try await StreamExchange.run(
            http.streamingRequest,
            client: clients.next(),
            timeout: endpoint.timeout,
            maxTokens: request.maxTokens,
            requestIDHeaders: ["x-request-id", "request-id"],
            assembler: OpenAIStreamAssembler.self,
            sink: sink,
            plainReply: { (status, headers, payload) throws(UpstreamFailure) in
                try Self.reply(status: status, headers: headers, payload: payload)
            }
        )
    }
}

/// OpenAI's `chat.completion.chunk` events: `choices[0].delta.content` is text,
/// `choices[0].delta.tool_calls` are pieces of tool calls (put together by `index`), a chunk with
/// `finish_reason` ends the choice, a chunk with `usage` (and no choices, with
/// `stream_options.include_usage`) counts the tokens, and `data: [DONE]` ends the stream.
struct OpenAIStreamAssembler: StreamAssembler {
    /// More tool calls than this in one answer is an upstream misbehaving, not a result.
    static let maxToolCalls = 128

    private var content = ""
    private var sawContent = false
    private var finishReason: String?
    private var usage: TokenUsage = .zero
    private var toolCalls: [Int: ToolCall] = [:]
    private var lastToolIndex = 0
    private(set) var isFinished = false

    private struct ToolCall {
        var id = ""
        var type = "function"
        var name = ""
        var arguments = ""
    }

    init() {}

    mutating func take(_ event: SSEEvent) throws(UpstreamFailure) -> String {
        if event.data.elementsEqual("[DONE]".utf8) {
            isFinished = true
            return ""
        }
        guard let chunk = try? JSONValueDecoder().decode(Chunk.self, from: UpstreamBody.cleaned(Data(event.data))) else {
            throw UpstreamFailure(kind: .transient, statusCode: nil, message: "malformed stream chunk")
        }
        if let error = chunk.error, error != .null { throw Self.failure(error, data: event.data) }
        if case .object(let fields)? = chunk.usage {
            usage = TokenUsage(
                promptTokens: UpstreamNumbers.tokens(fields["prompt_tokens"]),
                completionTokens: UpstreamNumbers.tokens(fields["completion_tokens"])
            )
        }
        // `n` is never more than 1 here: the first choice is the answer.
        guard let choice = chunk.choices?.first(where: { ($0.index ?? 0) == 0 }) else { return "" }
        if let reason = choice.finish_reason { finishReason = String(reason.prefix(100)) }
        for piece in choice.delta?.tool_calls ?? [] {
            let index = piece.index ?? lastToolIndex
            guard toolCalls[index] != nil || toolCalls.count < Self.maxToolCalls else {
                throw UpstreamFailure(kind: .transient, statusCode: nil, message: "more than \(Self.maxToolCalls) tool calls in a stream")
            }
            lastToolIndex = index
            var call = toolCalls[index] ?? ToolCall()
            if let id = piece.id, call.id.isEmpty { call.id = id }
            if let type = piece.type, !type.isEmpty { call.type = type }
            call.name += piece.function?.name ?? ""
            call.arguments += piece.function?.arguments ?? ""
            toolCalls[index] = call
        }
        guard let text = choice.delta?.content else { return "" }
        sawContent = true
        content += text
        return text
    }

    func response(status: Int, requestID: String?, exhaustedFor: Duration?) -> UpstreamResponse {
        let calls: [JSONValue] = toolCalls.keys.sorted().compactMap { index in
            toolCalls[index].map { call in
                .object([
                    "id": .string(call.id), "type": .string(call.type),
                    "function": .object(["name": .string(call.name), "arguments": .string(call.arguments)]),
                ])
            }
        }
        return UpstreamResponse(
            content: sawContent ? content : nil,
            finishReason: finishReason,
            toolCalls: calls.isEmpty ? nil : .array(calls),
            usage: usage,
            requestID: requestID,
            statusCode: status,
            exhaustedFor: exhaustedFor
        )
    }

    /// An error sent inside the stream (`data: {"error": {...}}`), classified as the status its
    /// code or type stands for would be.
    private static func failure(_ error: JSONValue, data: [UInt8]) -> UpstreamFailure {
        let fields = error.objectValue ?? [:]
        let words = [fields["code"]?.stringValue, fields["type"]?.stringValue].compactMap { $0?.lowercased() }
        let status: Int
        if words.contains(where: { $0.contains("rate_limit") || $0.contains("quota") }) {
            status = 429
        } else if words.contains(where: { $0.contains("auth") || $0.contains("api_key") }) {
            status = 401
        } else if words.contains(where: { $0.contains("context_length") || $0.contains("invalid_request") }) {
            status = 400
        } else {
            status = 500
        }
        return HTTPExchange.classify(status: status, headers: HTTPHeaders(), body: Data(data), requestID: nil)
    }

    private struct Chunk: Decodable {
        struct Choice: Decodable {
            struct Delta: Decodable {
                var content: String?
                var tool_calls: [ToolCallPiece]?
            }
            var index: Int?
            var delta: Delta?
            var finish_reason: String?
        }
        struct ToolCallPiece: Decodable {
            struct Function: Decodable {
                var name: String?
                var arguments: String?
            }
            var index: Int?
            var id: String?
            var type: String?
            var function: Function?
        }
        var choices: [Choice]?
        /// Read leniently (``UpstreamNumbers/tokens(_:)``), as `complete` reads it.
        var usage: JSONValue?
        var error: JSONValue?
    }
}
