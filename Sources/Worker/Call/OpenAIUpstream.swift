import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Shared

/// Any OpenAI-compatible endpoint: `POST {base_url}/v1/chat/completions` with a Bearer key.
struct OpenAIUpstream: Upstream {
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

    /// The request `complete` sends; a streaming one adds `stream` and asks for the usage chunk
    /// (without `include_usage` OpenAI streams no token counts, and the call could not be billed).
    static func httpRequest(_ request: UpstreamRequest, at endpoint: UpstreamEndpoint, stream: Bool) throws(UpstreamFailure) -> UpstreamHTTPRequest {
        var body: [String: JSONValue] = [
            "model": .string(request.model),
            "messages": .array(request.messages),
            "max_tokens": .integer(request.maxTokens),
        ]
        if let value = request.temperature { body["temperature"] = .number(value) }
        if let value = request.topP { body["top_p"] = .number(value) }
        if let value = request.stop { body["stop"] = value }
        if let value = request.tools { body["tools"] = value }
        if let value = request.toolChoice { body["tool_choice"] = value }
        if let value = request.responseFormat { body["response_format"] = value }
        if let value = request.frequencyPenalty { body["frequency_penalty"] = .number(value) }
        if let value = request.presencePenalty { body["presence_penalty"] = .number(value) }
        if stream {
            body["stream"] = .bool(true)
            body["stream_options"] = .object(["include_usage": .bool(true)])
        }

        guard let encoded = JSONValueText.bytes(of: body) else {
            throw UpstreamFailure(kind: .invalidRequest, statusCode: nil, message: "cannot encode the request")
        }
        var http = UpstreamHTTPRequest(url: endpoint.baseURL + "/v1/chat/completions", body: ByteBuffer(bytes: encoded))
        http.headers.add(name: "Authorization", value: "Bearer \(endpoint.apiKey)")
        http.headers.add(name: "Content-Type", value: "application/json")
        return http
    }

    /// An answer as the job runner takes it: a success in the one result shape, or a classified
    /// failure. Whatever the body holds — wrong types, huge numbers, text PostgreSQL cannot
    /// store — it comes back as one of the two.
    static func reply(status: Int, headers: HTTPHeaders, payload: Data) throws(UpstreamFailure) -> UpstreamResponse {
        let requestID = UpstreamNumbers.requestID(headers.first(name: "x-request-id") ?? headers.first(name: "request-id"))
        guard (200..<300).contains(status) else {
            throw HTTPExchange.classify(status: status, headers: headers, body: payload, requestID: requestID)
        }
        guard let reply = try? JSONValueDecoder().decode(ChatCompletion.self, from: UpstreamBody.cleaned(payload)), let choice = reply.choices.first,
            UpstreamNumbers.isToolCallList(choice.message.tool_calls)
        else {
            throw UpstreamFailure(kind: .transient, statusCode: status, message: "malformed response body", requestID: requestID)
        }
        return UpstreamResponse(
            content: choice.message.content,
            finishReason: choice.finish_reason.map { String($0.prefix(100)) },
            toolCalls: choice.message.tool_calls == .null ? nil : choice.message.tool_calls,
            usage: TokenUsage(
                promptTokens: UpstreamNumbers.tokens(reply.usage?["prompt_tokens"]),
                completionTokens: UpstreamNumbers.tokens(reply.usage?["completion_tokens"])
            ),
            requestID: requestID,
            statusCode: status,
            exhaustedFor: HTTPExchange.exhaustedFor(headers)
        )
    }

    private struct ChatCompletion: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable {
                var content: String?
                var tool_calls: JSONValue?
            }
            var message: Message
            var finish_reason: String?
        }
        var choices: [Choice]
        /// Read leniently (``UpstreamNumbers/tokens(_:)``): a wrong type or a huge number in the
        /// usage must not lose an answer that was paid for.
        var usage: [String: JSONValue]?
    }
}

/// The HTTP exchange and the error taxonomy shared by the provider kinds.
enum HTTPExchange {
    /// Largest upstream answer read; anything bigger is treated as malformed.
    static let maxResponseBytes = 16 << 20

    /// Sends `request` and reads the whole answer, at most ``maxResponseBytes``, within `timeout`.
    ///
    /// Through the client's `EventLoopFuture` interface, not its `async` one: the answer is the
    /// same, but a call waiting on its future holds one small frame in the job's task, where the
    /// `async` interface's chain of frames held ~12 KB for as long as the call waited — about
    /// 60 MB for 5,000 calls in flight (heaptrack; docs/SCALING.md, "What a waiting call holds").
    /// A cancelled task cancels the request.
    static func send(_ request: UpstreamHTTPRequest, client: HTTPClient, timeout: Duration) async throws(UpstreamFailure) -> (Int, HTTPHeaders, Data)
    {
        do {
            // A job cancelled before its call began sends nothing: a request sent and then
            // cancelled may still be billed by the provider.
            try Task.checkCancellation()
            let http = try request.futureRequest()
            let task = client.execute(
                request: http,
                delegate: ResponseAccumulator(request: http, maxBodySize: maxResponseBytes),
                deadline: .now() + .milliseconds(Int64(timeout.milliseconds))
            )
            let response = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
            return (Int(response.status.code), response.headers, response.body.map { Data(buffer: $0) } ?? Data())
        } catch {
            throw transportFailure(error)
        }
    }

    /// What a thrown transport error means for the job: always transient, described without
    /// anything the error carries.
    static func transportFailure(_ error: any Error) -> UpstreamFailure {
        switch error {
        case is CancellationError:
            return UpstreamFailure(kind: .transient, statusCode: nil, message: "cancelled")
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout:
            return .timedOut
        case is NIOTooManyBytesError, is ResponseAccumulator.ResponseTooBigError:
            return UpstreamFailure(kind: .transient, statusCode: nil, message: "response body larger than \(maxResponseBytes >> 20) MiB")
        default:
            if Task.isCancelled { return UpstreamFailure(kind: .transient, statusCode: nil, message: "cancelled") }
            // Never the error's description: the HTTP client's text can hold a header's value,
            // and the headers hold the provider's key. The error's type says enough.
            return UpstreamFailure(kind: .transient, statusCode: nil, message: "connection failed (\(describe(error)))")
        }
    }

    /// A short, secret-free name for a transport error: `HTTPClientError.remoteConnectionClosed`.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            let name = String(describing: error)
            // HTTPClientError's description is its case name; anything longer may carry values.
            if name.count <= 60, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" }) { return name }
            return "HTTPClientError"
        }
        return String(reflecting: type(of: error))
    }

    static func classify(status: Int, headers: HTTPHeaders, body: Data, requestID: String?) -> UpstreamFailure {
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        let lowered = text.lowercased()
        // The upstream's own words are for admins only (job_calls.error, provider health), and
        // even there with anything key-shaped taken out; tenants see the category.
        let message = SecretRedactor.redact(errorMessage(body).map { String($0.prefix(500)) } ?? "HTTP \(status)")
        func failure(_ kind: UpstreamFailure.Kind) -> UpstreamFailure {
            UpstreamFailure(kind: kind, statusCode: status, message: message, retryAfter: retryAfter(headers), requestID: requestID)
        }
        if (300..<400).contains(status) {
            // Redirects are never followed (a cross-origin hop would carry the key, a 303 would
            // turn the POST into a GET): the provider's base_url is wrong or it is misbehaving.
            return UpstreamFailure(
                kind: .transient,
                statusCode: status,
                message: "HTTP \(status): the upstream answered a redirect, which is not followed",
                retryAfter: nil,
                requestID: requestID
            )
        }
        let contextTooLong =
            lowered.contains("context_length_exceeded") || lowered.contains("maximum context length")
            || lowered.contains("prompt is too long") || lowered.contains("too many tokens")
        if let shouldRetry = headers.first(name: "x-should-retry")?.lowercased() {
            if shouldRetry == "false" && status != 429 { return failure(contextTooLong ? .contextTooLong : .invalidRequest) }
            if shouldRetry == "true" && status != 429 { return failure(.transient) }
        }
        switch status {
        case 429:
            let exhausted = ["insufficient_quota", "quota", "spend_limit", "credit balance"].contains { lowered.contains($0) }
            return failure(exhausted ? .quotaExhausted : .rateLimited)
        case 401, 403:
            return failure(.badCredentials)
        case 402:
            return failure(.quotaExhausted)
        case 400, 404, 413, 422:
            return failure(contextTooLong ? .contextTooLong : .invalidRequest)
        case 408, 409, 500...599:
            return failure(.transient)
        default:
            return failure(status >= 400 && status < 500 ? .invalidRequest : .transient)
        }
    }

    /// When the rate-limit headers say nothing is left (`x-ratelimit-remaining-requests: 0`, or
    /// Anthropic's `anthropic-ratelimit-requests-remaining: 0`), how long until they reset.
    static func exhaustedFor(_ headers: HTTPHeaders) -> Duration? {
        for kind in ["requests", "tokens"] where headers.first(name: "x-ratelimit-remaining-\(kind)") == "0" {
            return headers.first(name: "x-ratelimit-reset-\(kind)").flatMap(parseResetDuration) ?? .seconds(1)
        }
        for kind in ["requests", "tokens", "input-tokens", "output-tokens"] where headers.first(name: "anthropic-ratelimit-\(kind)-remaining") == "0"
        {
            if let reset = headers.first(name: "anthropic-ratelimit-\(kind)-reset"), reset.utf8.count <= 64,
                let date = try? Date(reset, strategy: .iso8601), let wait = UpstreamNumbers.duration(seconds: date.timeIntervalSinceNow)
            {
                return wait
            }
            return .seconds(1)
        }
        return nil
    }

    /// OpenAI's reset durations: `20ms`, `1s`, `6m0s`, `1h2m3.5s`.
    static func parseResetDuration(_ text: String) -> Duration? {
        guard text.utf8.count <= 64 else { return nil }
        var total = 0.0
        var number = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character.isNumber || character == "." {
                number.append(character)
            } else {
                let unit: String
                if text[index...].hasPrefix("ms") {
                    unit = "ms"
                    index = text.index(after: index)
                } else {
                    unit = String(character)
                }
                guard let value = Double(number) else { return nil }
                switch unit {
                case "ms": total += value / 1000
                case "s": total += value
                case "m": total += value * 60
                case "h": total += value * 3600
                default: return nil
                }
                number = ""
            }
            index = text.index(after: index)
        }
        if let value = Double(number) { total += value }
        return UpstreamNumbers.duration(seconds: total)
    }

    /// `retry-after-ms`, or `Retry-After` as seconds or an HTTP date.
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        if let ms = headers.first(name: "retry-after-ms").flatMap(Double.init), ms >= 0, let wait = UpstreamNumbers.duration(seconds: ms / 1000) {
            return wait
        }
        guard let value = headers.first(name: "retry-after")?.trimmingCharacters(in: .whitespaces), value.utf8.count <= 64 else { return nil }
        if let seconds = Double(value) {
            return seconds >= 0 ? UpstreamNumbers.duration(seconds: seconds) : nil
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return UpstreamNumbers.duration(seconds: date.timeIntervalSinceNow)
    }

    private static func errorMessage(_ body: Data) -> String? {
        guard case .object(let object)? = JSONValueReader.value(UpstreamBody.cleaned(body)) else { return nil }
        if case .object(let error)? = object["error"], let message = error["message"]?.stringValue { return message }
        if let message = object["error"]?.stringValue { return message }
        return object["message"]?.stringValue
    }
}
