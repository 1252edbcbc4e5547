import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Shared

/// Anthropic's Messages API: `POST {base_url}/v1/messages` with `x-api-key` and
/// `anthropic-version`. The job's OpenAI-shaped request is translated here (system messages
/// lifted out, tools and tool choice converted, `max_tokens` always sent) and the answer brought
/// back to the one result shape jobs have whatever the provider.
struct AnthropicUpstream: Upstream {
    static let version = "2023-06-01"
    let clients: UpstreamClients

    init(clients: UpstreamClients) {
        self.clients = clients
    }

    init(client: HTTPClient) {
        self.init(clients: UpstreamClients([client]))
    }

    func complete(_ request: UpstreamRequest, at endpoint: UpstreamEndpoint) async throws(UpstreamFailure) -> UpstreamResponse {
        let http = try Self.httpRequest(request, at: endpoint, stream: false)
        let (status, headers, payload) = try await HTTPExchange.send(http, client: clients.next(), timeout: endpoint.timeout)
        return try Self.reply(status: status, headers: headers, payload: payload)
    }

    /// The request `complete` sends, translated; a streaming one adds `stream`.
    static func httpRequest(_ request: UpstreamRequest, at endpoint: UpstreamEndpoint, stream: Bool) throws(UpstreamFailure) -> UpstreamHTTPRequest {
        var system: [String] = []
        var messages: [JSONValue] = []
        for message in request.messages {
            guard case .object(var fields) = message, let role = fields["role"]?.stringValue else { continue }
            switch role {
            case "system", "developer":
                if let text = Self.text(fields["content"]) { system.append(text) }
            case "tool":
                // An OpenAI tool result becomes a user turn carrying a tool_result block.
                messages.append(
                    .object([
                        "role": .string("user"),
                        "content": .array([
                            .object([
                                "type": .string("tool_result"),
                                "tool_use_id": fields["tool_call_id"] ?? .string(""),
                                "content": .string(Self.text(fields["content"]) ?? ""),
                            ])
                        ]),
                    ])
                )
            default:
                fields = ["role": .string(role == "assistant" ? "assistant" : "user"), "content": fields["content"] ?? .string("")]
                messages.append(.object(fields))
            }
        }
        var body: [String: JSONValue] = [
            "model": .string(request.model),
            "max_tokens": .integer(request.maxTokens),
            "messages": .array(messages),
        ]
        if !system.isEmpty { body["system"] = .string(system.joined(separator: "\n\n")) }
        if let value = request.temperature { body["temperature"] = .number(min(1, value)) }
        if let value = request.topP { body["top_p"] = .number(value) }
        if let stop = request.stop {
            if case .string(let s) = stop { body["stop_sequences"] = .array([.string(s)]) } else { body["stop_sequences"] = stop }
        }
        if case .array(let tools)? = request.tools {
            body["tools"] = .array(tools.compactMap(Self.tool))
            if let choice = Self.toolChoice(request.toolChoice) { body["tool_choice"] = choice }
        }
        if stream { body["stream"] = .bool(true) }

        guard let encoded = JSONValueText.bytes(of: body) else {
            throw UpstreamFailure(kind: .invalidRequest, statusCode: nil, message: "cannot encode the request")
        }
        var http = UpstreamHTTPRequest(url: endpoint.baseURL + "/v1/messages", body: ByteBuffer(bytes: encoded))
        http.headers.add(name: "x-api-key", value: endpoint.apiKey)
        http.headers.add(name: "anthropic-version", value: Self.version)
        http.headers.add(name: "Content-Type", value: "application/json")
        return http
    }

    /// An answer as the job runner takes it: a success in the one result shape, or a classified
    /// failure. Whatever the body holds — wrong types, huge numbers, text PostgreSQL cannot
    /// store — it comes back as one of the two.
    static func reply(status: Int, headers: HTTPHeaders, payload: Data) throws(UpstreamFailure) -> UpstreamResponse {
        let requestID = UpstreamNumbers.requestID(headers.first(name: "request-id") ?? headers.first(name: "x-request-id"))
        guard (200..<300).contains(status) else {
            throw HTTPExchange.classify(status: status, headers: headers, body: payload, requestID: requestID)
        }
        guard let reply = try? JSONValueDecoder().decode(Message.self, from: UpstreamBody.cleaned(payload)) else {
            throw UpstreamFailure(kind: .transient, statusCode: status, message: "malformed response body", requestID: requestID)
        }
        let text = reply.content.compactMap { $0.type == "text" ? $0.text : nil }.joined()
        let toolCalls: [JSONValue] = reply.content.filter { $0.type == "tool_use" }.map { block in
            let arguments = (try? JSONEncoder().encode(block.input ?? .object([:]))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return .object([
                "id": .string(block.id ?? ""), "type": .string("function"),
                "function": .object(["name": .string(block.name ?? ""), "arguments": .string(arguments)]),
            ])
        }
        let usage = reply.usage ?? [:]
        // Prompt tokens include cache reads and writes (API.md); each is bounded before the sum.
        let prompt = ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
            .reduce(0) { $0 + UpstreamNumbers.tokens(usage[$1]) }
        return UpstreamResponse(
            content: text.isEmpty && !toolCalls.isEmpty ? nil : text,
            finishReason: Self.finishReason(reply.stop_reason).map { String($0.prefix(100)) },
            toolCalls: toolCalls.isEmpty ? nil : .array(toolCalls),
            usage: TokenUsage(promptTokens: prompt, completionTokens: UpstreamNumbers.tokens(usage["output_tokens"])),
            requestID: requestID,
            statusCode: status,
            exhaustedFor: HTTPExchange.exhaustedFor(headers)
        )
    }

    static func finishReason(_ stopReason: String?) -> String? {
        switch stopReason {
        case "end_turn", "stop_sequence": return "stop"
        case "max_tokens": return "length"
        case "tool_use": return "tool_calls"
        case nil: return nil
        case let other?: return other
        }
    }

    /// OpenAI `{type: function, function: {name, description, parameters}}` → Anthropic
    /// `{name, description, input_schema}`.
    private static func tool(_ value: JSONValue) -> JSONValue? {
        guard case .object(let fields) = value, case .object(let function)? = fields["function"], let name = function["name"] else { return nil }
        var tool: [String: JSONValue] = ["name": name, "input_schema": function["parameters"] ?? .object(["type": .string("object")])]
        if let description = function["description"] { tool["description"] = description }
        return .object(tool)
    }

    private static func toolChoice(_ value: JSONValue?) -> JSONValue? {
        switch value {
        case .string("auto")?: return .object(["type": .string("auto")])
        case .string("required")?: return .object(["type": .string("any")])
        case .object(let fields)?:
            if case .object(let function)? = fields["function"], let name = function["name"] {
                return .object(["type": .string("tool"), "name": name])
            }
            return nil
        default: return nil
        }
    }

    private static func text(_ content: JSONValue?) -> String? {
        switch content {
        case .string(let s)?: return s
        case .array(let parts)?: return parts.compactMap { $0.objectValue?["text"]?.stringValue }.joined(separator: "\n")
        default: return nil
        }
    }

    private struct Message: Decodable {
        struct Block: Decodable {
            var type: String
            var text: String?
            var id: String?
            var name: String?
            var input: JSONValue?
        }
        var content: [Block]
        var stop_reason: String?
        /// Read leniently (``UpstreamNumbers/tokens(_:)``): a wrong type or a huge number in the
        /// usage must not lose an answer that was paid for.
        var usage: [String: JSONValue]?
    }
}
