import AsyncHTTPClient
import Foundation
import NIOHTTP1
import Shared

extension AnthropicUpstream {
    func stream(_ request: UpstreamRequest, at endpoint: UpstreamEndpoint, into sink: any DeltaSink) async throws(UpstreamFailure) -> UpstreamResponse
    {
        var http = try Self.httpRequest(request, at: endpoint, stream: true)
        http.headers.add(name: "Accept", value: "text/event-stream")
        return try await StreamExchange.run(
            http.streamingRequest,
            client: clients.next(),
            timeout: endpoint.timeout,
            maxTokens: request.maxTokens,
            requestIDHeaders: ["request-id", "x-request-id"],
            assembler: AnthropicStreamAssembler.self,
            sink: sink,
            plainReply: { (status, headers, payload) throws(UpstreamFailure) in
                try Self.reply(status: status, headers: headers, payload: payload)
            }
        )
    }
}

/// Anthropic's message events: `message_start` (the prompt's usage), `content_block_start` (a
/// text or `tool_use` block), `content_block_delta` (`text_delta` is text, `input_json_delta` a
/// piece of a tool's input), `content_block_stop`, `message_delta` (stop reason, output tokens),
/// `message_stop` (the end); `ping` and unknown events are skipped, `error` is the failure it
/// names. Tool calls come out as `complete` returns them: OpenAI-shaped, arguments as JSON text.
struct AnthropicStreamAssembler: StreamAssembler {
    /// More content blocks than this in one answer is an upstream misbehaving, not a result.
    static let maxBlocks = 128

    private var text = ""
    private var stopReason: String?
    private var usage: [String: JSONValue] = [:]
    private var blocks: [Int: Block] = [:]
    private(set) var isFinished = false

    private struct Block {
        var isToolUse: Bool
        var id = ""
        var name = ""
        /// The input `content_block_start` carried (`{}` in practice), used when no
        /// `input_json_delta` follows.
        var input: JSONValue?
        var json = ""
    }

    init() {}

    mutating func take(_ event: SSEEvent) throws(UpstreamFailure) -> String {
        guard let event = try? JSONValueDecoder().decode(Event.self, from: UpstreamBody.cleaned(Data(event.data))) else {
            throw UpstreamFailure(kind: .transient, statusCode: nil, message: "malformed stream event")
        }
        switch event.type {
        case "message_start":
            if let start = event.message?.usage { usage.merge(start) { $1 } }
        case "content_block_start":
            guard let index = event.index, let block = event.content_block else { throw Self.malformed }
            try reserve(index)
            blocks[index] = Block(isToolUse: block.type == "tool_use", id: block.id ?? "", name: block.name ?? "", input: block.input)
        case "content_block_delta":
            guard let index = event.index, let delta = event.delta else { throw Self.malformed }
            switch delta.type {
            case "text_delta":
                let piece = delta.text ?? ""
                text += piece
                return piece
            case "input_json_delta":
                try reserve(index)
                var block = blocks[index] ?? Block(isToolUse: true)
                block.json += delta.partial_json ?? ""
                blocks[index] = block
            default:
                break  // thinking, signatures, citations: not part of the answer's text
            }
        case "message_delta":
            if let reason = event.delta?.stop_reason { stopReason = reason }
            if let counts = event.usage { usage.merge(counts) { $1 } }
        case "message_stop":
            // A tool input that does not parse is a broken answer, not one to hand on.
            for block in blocks.values where block.isToolUse && !block.json.isEmpty {
                guard JSONValueReader.value(UpstreamBody.cleaned(Data(block.json.utf8))) != nil else {
                    throw UpstreamFailure(kind: .transient, statusCode: nil, message: "malformed tool input in stream")
                }
            }
            isFinished = true
        case "error":
            throw Self.failure(event.error)
        default:
            break  // `ping`, `content_block_stop`, and events added after this was written
        }
        return ""
    }

    func response(status: Int, requestID: String?, exhaustedFor: Duration?) -> UpstreamResponse {
        let toolCalls: [JSONValue] = blocks.keys.sorted().compactMap { index in
            guard let block = blocks[index], block.isToolUse else { return nil }
            // The input as `complete` writes it: decoded (checked at `message_stop`), then encoded.
            let streamed = block.json.isEmpty ? nil : JSONValueReader.value(UpstreamBody.cleaned(Data(block.json.utf8)))
            let input = streamed ?? block.input ?? .object([:])
            let arguments = (try? JSONEncoder().encode(input)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return .object([
                "id": .string(block.id), "type": .string("function"),
                "function": .object(["name": .string(block.name), "arguments": .string(arguments)]),
            ])
        }
        // Prompt tokens include cache reads and writes (API.md); each is bounded before the sum.
        let prompt = ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
            .reduce(0) { $0 + UpstreamNumbers.tokens(usage[$1]) }
        return UpstreamResponse(
            content: text.isEmpty && !toolCalls.isEmpty ? nil : text,
            finishReason: AnthropicUpstream.finishReason(stopReason).map { String($0.prefix(100)) },
            toolCalls: toolCalls.isEmpty ? nil : .array(toolCalls),
            usage: TokenUsage(promptTokens: prompt, completionTokens: UpstreamNumbers.tokens(usage["output_tokens"])),
            requestID: requestID,
            statusCode: status,
            exhaustedFor: exhaustedFor
        )
    }

    private func reserve(_ index: Int) throws(UpstreamFailure) {
        guard blocks[index] != nil || blocks.count < Self.maxBlocks else {
            throw UpstreamFailure(kind: .transient, statusCode: nil, message: "more than \(Self.maxBlocks) content blocks in a stream")
        }
    }

    private static let malformed = UpstreamFailure(kind: .transient, statusCode: nil, message: "malformed stream event")

    /// An `error` event, classified as the HTTP status its type stands for would be (Anthropic
    /// documents the pairs: `overloaded_error` is 529, `rate_limit_error` 429, …).
    private static func failure(_ error: JSONValue?) -> UpstreamFailure {
        let status: Int
        switch error?.objectValue?["type"]?.stringValue {
        case "invalid_request_error": status = 400
        case "authentication_error": status = 401
        case "billing_error": status = 402
        case "permission_error": status = 403
        case "not_found_error": status = 404
        case "request_too_large": status = 413
        case "rate_limit_error": status = 429
        case "overloaded_error": status = 529
        default: status = 500
        }
        let body = (try? JSONEncoder().encode(JSONValue.object(["error": error ?? .null]))) ?? Data()
        return HTTPExchange.classify(status: status, headers: HTTPHeaders(), body: body, requestID: nil)
    }

    private struct Event: Decodable {
        struct Start: Decodable {
            var usage: [String: JSONValue]?
        }
        struct ContentBlock: Decodable {
            var type: String
            var id: String?
            var name: String?
            var input: JSONValue?
        }
        struct Delta: Decodable {
            var type: String?
            var text: String?
            var partial_json: String?
            var stop_reason: String?
        }
        var type: String
        var message: Start?
        var index: Int?
        var content_block: ContentBlock?
        var delta: Delta?
        /// Read leniently (``UpstreamNumbers/tokens(_:)``), as `complete` reads it.
        var usage: [String: JSONValue]?
        var error: JSONValue?
    }
}
