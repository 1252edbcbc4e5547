import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Shared

/// Any OpenAI-compatible endpoint: `POST {base_url}/v1/chat/completions` with a Bearer key.
struct OpenAIUpstream: Upstream {
    let client: HTTPClient

    func complete(_ request: UpstreamRequest, at endpoint: UpstreamEndpoint) async throws(UpstreamFailure) -> UpstreamResponse {
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

        var http = HTTPClientRequest(url: endpoint.baseURL + "/v1/chat/completions")
        http.method = .POST
        http.headers.add(name: "Authorization", value: "Bearer \(endpoint.apiKey)")
        http.headers.add(name: "Content-Type", value: "application/json")
        let encoded: Data
        do { encoded = try JSONEncoder().encode(body) } catch {
            throw UpstreamFailure(kind: .invalidRequest, statusCode: nil, message: "cannot encode the request")
        }
        http.body = .bytes(ByteBuffer(bytes: encoded))

        let (status, headers, payload) = try await HTTPExchange.send(http, client: client, timeout: endpoint.timeout)
        let requestID = headers.first(name: "x-request-id") ?? headers.first(name: "request-id")
        guard (200..<300).contains(status) else {
            throw HTTPExchange.classify(status: status, headers: headers, body: payload, requestID: requestID)
        }
        guard let reply = try? JSONDecoder().decode(ChatCompletion.self, from: payload), let choice = reply.choices.first else {
            throw UpstreamFailure(kind: .transient, statusCode: status, message: "malformed response body", requestID: requestID)
        }
        return UpstreamResponse(
            content: choice.message.content,
            finishReason: choice.finish_reason,
            toolCalls: choice.message.tool_calls,
            usage: TokenUsage(promptTokens: reply.usage?.prompt_tokens ?? 0, completionTokens: reply.usage?.completion_tokens ?? 0),
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
        struct Usage: Decodable {
            var prompt_tokens: Int?
            var completion_tokens: Int?
        }
        var choices: [Choice]
        var usage: Usage?
    }
}

/// The HTTP exchange and the error taxonomy shared by the provider kinds.
enum HTTPExchange {
    /// Largest upstream answer read; anything bigger is treated as malformed.
    static let maxResponseBytes = 16 << 20

    static func send(_ request: HTTPClientRequest, client: HTTPClient, timeout: Duration) async throws(UpstreamFailure) -> (Int, HTTPHeaders, Data) {
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout.milliseconds)))
            let body = try await response.body.collect(upTo: maxResponseBytes)
            return (Int(response.status.code), response.headers, Data(buffer: body))
        } catch is CancellationError {
            throw UpstreamFailure(kind: .transient, statusCode: nil, message: "cancelled")
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw UpstreamFailure(kind: .transient, statusCode: nil, message: "timed out")
        } catch {
            if Task.isCancelled { throw UpstreamFailure(kind: .transient, statusCode: nil, message: "cancelled") }
            throw UpstreamFailure(kind: .transient, statusCode: nil, message: "connection failed: \(String(describing: error).prefix(200))")
        }
    }

    static func classify(status: Int, headers: HTTPHeaders, body: Data, requestID: String?) -> UpstreamFailure {
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        let lowered = text.lowercased()
        let message = errorMessage(body) ?? "HTTP \(status)"
        func failure(_ kind: UpstreamFailure.Kind) -> UpstreamFailure {
            UpstreamFailure(kind: kind, statusCode: status, message: String(message.prefix(500)), retryAfter: retryAfter(headers), requestID: requestID)
        }
        let contextTooLong = lowered.contains("context_length_exceeded") || lowered.contains("maximum context length")
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
        for kind in ["requests", "tokens", "input-tokens", "output-tokens"] where headers.first(name: "anthropic-ratelimit-\(kind)-remaining") == "0" {
            if let reset = headers.first(name: "anthropic-ratelimit-\(kind)-reset"), let date = try? Date(reset, strategy: .iso8601) {
                return .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000))
            }
            return .seconds(1)
        }
        return nil
    }

    /// OpenAI's reset durations: `20ms`, `1s`, `6m0s`, `1h2m3.5s`.
    static func parseResetDuration(_ text: String) -> Duration? {
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
        return .milliseconds(Int64(total * 1000))
    }

    /// `retry-after-ms`, or `Retry-After` as seconds or an HTTP date.
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        if let ms = headers.first(name: "retry-after-ms").flatMap(Double.init), ms >= 0 {
            return .milliseconds(Int64(ms))
        }
        guard let value = headers.first(name: "retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value), seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSinceNow) * 1000))
    }

    private static func errorMessage(_ body: Data) -> String? {
        guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: body) else { return nil }
        if case .object(let error)? = object["error"], let message = error["message"]?.stringValue { return message }
        if let message = object["error"]?.stringValue { return message }
        return object["message"]?.stringValue
    }
}
