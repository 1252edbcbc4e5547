import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MockLLM

@Suite("POST /v1/chat/completions")
struct OpenAIRouteTests {
    static let twoMessages =
        #"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Hello, mock!"}],"temperature":0.2,"top_p":1,"stop":["\n\n"]}"#

    @Test("answers a chat.completion with deterministic content and the usage the estimate predicts")
    func happyPath() async throws {
        try await withMock { client in
            let first = try await client.chat(Self.twoMessages)
            #expect(first.status == .ok)
            #expect(first.header("content-type") == "application/json")
            let json = try #require(first.json)
            #expect((json["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            #expect(json["object"] as? String == "chat.completion")
            #expect(json["model"] as? String == "gpt-4o-mini")
            #expect(json["created"] as? Int != nil)
            #expect(first.message?["role"] as? String == "assistant")
            // 8 + 12 characters; the fingerprint is FNV-1a of model, roles and texts
            #expect(first.message?["content"] as? String == "mock analysis of 20 characters: Hello, mock! [485cce76]")
            #expect(first.firstChoice?["finish_reason"] as? String == "stop")
            // prompt: ceil(20 / 4) + 3 × 2 messages; completion: ceil(55 characters / 4)
            #expect(first.usage == ["prompt_tokens": 11, "completion_tokens": 14, "total_tokens": 25])

            let second = try await client.chat(Self.twoMessages)
            #expect(second.message?["content"] as? String == first.message?["content"] as? String)
            #expect(second.json?["id"] as? String != json["id"] as? String)

            let other = try await client.chat(chatBody("Hello, other mock!"))
            #expect(other.message?["content"] as? String != first.message?["content"] as? String)
        }
    }

    @Test("sends x-request-id: req_<32 hex> on every answer, errors included")
    func requestID() async throws {
        try await withMock { client in
            for response in [try await client.chat(chatBody()), try await client.chat(chatBody(), headers: [:])] {
                let id = try #require(response.header("x-request-id"))
                #expect(id.hasPrefix("req_") && id.count == 36)
                #expect(id.dropFirst(4).allSatisfy { $0.isHexDigit })
            }
        }
    }

    @Test("quotes the first 40 characters of the last user message, with an ellipsis")
    func excerpt() async throws {
        try await withMock { client in
            let text = String(repeating: "abcdefghij", count: 5)
            let response = try await client.chat(chatBody(text))
            let content = try #require(response.message?["content"] as? String)
            #expect(content.hasPrefix("mock analysis of 50 characters: \(text.prefix(40))… ["))
        }
    }

    @Test("reads array-of-parts content, counting only the text parts")
    func contentParts() async throws {
        try await withMock { client in
            let body = #"""
                {"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"abc"},
                {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"text","text":"defg"}]},
                {"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},
                {"role":"tool","tool_call_id":"c","content":"ok"}]}
                """#
            let response = try await client.chat(body)
            #expect(response.status == .ok)
            let content = try #require(response.message?["content"] as? String)
            // 3 + 4 + 0 + 2 characters; the last user message's parts joined by a newline
            #expect(content.hasPrefix("mock analysis of 9 characters: abc\ndefg ["))
            #expect(response.usage?["prompt_tokens"] == 3 + 3 * 3)
        }
    }

    @Test("cuts the reply at max_tokens (or max_completion_tokens) with finish_reason length")
    func maxTokens() async throws {
        try await withMock { client in
            for field in ["max_tokens", "max_completion_tokens"] {
                let response = try await client.chat(chatBody(extra: #","\#(field)":3"#))
                #expect(response.status == .ok)
                #expect(response.message?["content"] as? String == "mock analysi")  // 3 tokens × 4 characters
                #expect(response.firstChoice?["finish_reason"] as? String == "length")
                #expect(response.usage?["completion_tokens"] == 3)
            }
            let roomy = try await client.chat(chatBody(extra: #","max_tokens":14"#))
            #expect(roomy.firstChoice?["finish_reason"] as? String == "stop")
        }
    }

    @Test("answers tool_calls for the first tool, with arguments that fit its schema")
    func toolCall() async throws {
        let tools = #"""
            ,"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather",
            "parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},
            "unit":{"type":"string","enum":["celsius","fahrenheit"]},"hourly":{"type":"boolean"}},"required":["city"]}}},
            {"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{}}}}]
            """#
        try await withMock { client in
            let response = try await client.chat(chatBody(extra: tools))
            #expect(response.status == .ok)
            #expect(response.firstChoice?["finish_reason"] as? String == "tool_calls")
            let message = try #require(response.message)
            #expect(message["content"] is NSNull)
            let call = try #require((message["tool_calls"] as? [[String: Any]])?.first)
            #expect((call["id"] as? String)?.hasPrefix("call_") == true)
            #expect(call["type"] as? String == "function")
            let function = try #require(call["function"] as? [String: Any])
            #expect(function["name"] as? String == "get_weather")
            let arguments = try #require(function["arguments"] as? String)
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(arguments.utf8)) as? [String: Any])
            #expect(parsed["city"] as? String == "mock")
            #expect(parsed["days"] as? Int == 1)
            #expect(parsed["unit"] as? String == "celsius")
            #expect(parsed["hourly"] as? Bool == true)
            #expect((response.usage?["completion_tokens"] ?? 0) > 0)

            let named = try await client.chat(chatBody(extra: tools + #","tool_choice":{"type":"function","function":{"name":"get_time"}}"#))
            let namedCall = (named.message?["tool_calls"] as? [[String: Any]])?.first?["function"] as? [String: Any]
            #expect(namedCall?["name"] as? String == "get_time")
            #expect(namedCall?["arguments"] as? String == "{}")

            let refused = try await client.chat(chatBody(extra: tools + #","tool_choice":"none""#))
            #expect(refused.firstChoice?["finish_reason"] as? String == "stop")
            #expect((refused.message?["content"] as? String)?.hasPrefix("mock analysis") == true)
        }
    }

    @Test("answers JSON content when response_format asks for it")
    func responseFormat() async throws {
        try await withMock { client in
            let object = try await client.chat(chatBody(extra: #","response_format":{"type":"json_object"}"#))
            let content = try #require(object.message?["content"] as? String)
            let parsed = try JSONSerialization.jsonObject(with: Data(content.utf8)) as? [String: Any]
            #expect((parsed?["analysis"] as? String)?.hasPrefix("mock analysis") == true)

            let schema =
                #","response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object","properties":{"score":{"type":"number"},"tags":{"type":"array","items":{"type":"string"}}}}}}"#
            let fitted = try await client.chat(chatBody(extra: schema))
            #expect(fitted.message?["content"] as? String == #"{"score":1.5,"tags":["mock"]}"#)
        }
    }

    @Test("401 invalid_api_key without a bearer token")
    func authentication() async throws {
        try await withMock { client in
            let cases: [HTTPFields] = [[:], [.authorization: "Bearer "], [.authorization: "Basic abc"], [.authorization: "Bearer"]]
            for headers in cases {
                let response = try await client.chat(chatBody(), headers: headers)
                #expect(response.status == .unauthorized)
                #expect(response.openAIError?["type"] as? String == "invalid_request_error")
                #expect(response.openAIError?["code"] as? String == "invalid_api_key")
                #expect(response.openAIError?["message"] is String)
            }
            #expect(try await client.chat(chatBody(), headers: [.authorization: "bearer x"]).status == .ok)
        }
    }

    @Test("400 invalid_request_error for malformed JSON, missing fields and bad values")
    func badRequests() async throws {
        try await withMock { client in
            let cases: [(body: String, param: String?)] = [
                (#"{"model":"m","messages":["#, nil),
                ("[]", nil),
                (#"{"messages":[{"role":"user","content":"x"}]}"#, "model"),
                (#"{"model":"m"}"#, "messages"),
                (#"{"model":"m","messages":[]}"#, "messages"),
                (#"{"model":"m","messages":[{"role":"user","content":7}]}"#, "messages[0].content"),
                (chatBody(extra: #","max_tokens":0"#), "max_tokens"),
                (chatBody(extra: #","temperature":3"#), "temperature"),
                (chatBody(extra: #","top_p":2"#), "top_p"),
            ]
            for (body, param) in cases {
                let response = try await client.chat(body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.openAIError?["type"] as? String == "invalid_request_error", "\(body)")
                #expect(response.openAIError?["param"] as? String == param, "\(body)")
            }
            let stats = try await client.stats()
            #expect(stats["behaviour_calls"] as? Int == 0, "rejected requests do not count in the failure pattern")
        }
    }

    @Test("accepts bodies up to 4 MiB, 413 above")
    func bodyLimit() async throws {
        try await withMock { client in
            let large = try await client.chat(chatBody(String(repeating: "a", count: 3 * 1024 * 1024)))
            #expect(large.status == .ok)
            #expect(large.usage?["prompt_tokens"] == 3 * 1024 * 1024 / 4 + 3)

            let tooLarge = try await client.chat(chatBody(String(repeating: "a", count: 4 * 1024 * 1024)))
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.openAIError?["code"] as? String == "request_too_large")
        }
    }

    @Test("400 context_length_exceeded above context_limit")
    func contextLimit() async throws {
        try await withMock(MockBehaviour(contextLimit: 10)) { client in
            #expect(try await client.chat(chatBody("short")).status == .ok)  // 2 + 3 tokens
            let response = try await client.chat(chatBody(String(repeating: "x", count: 40)))  // 10 + 3 tokens
            #expect(response.status == .badRequest)
            #expect(response.openAIError?["code"] as? String == "context_length_exceeded")
            #expect(response.openAIError?["type"] as? String == "invalid_request_error")
            #expect(
                (response.openAIError?["message"] as? String)?.hasPrefix(
                    "This model's maximum context length is 10 tokens. However, your messages resulted in 13 tokens."
                ) == true
            )
        }
    }

    @Test("unknown paths get a JSON 404")
    func unknownPath() async throws {
        try await withMock { client in
            let response = try await client.execute(uri: "/v1/completions", method: .post)
            #expect(response.status == .notFound)
            #expect(response.openAIError?["code"] as? String == "unknown_url")
            #expect(response.header("x-request-id") != nil)
        }
    }

    @Test("/health answers 200 {\"status\":\"ok\"}")
    func health() async throws {
        try await withMock { client in
            let response = try await client.execute(uri: "/health", method: .get)
            #expect(response.status == .ok)
            #expect(response.text == #"{"status":"ok"}"#)
        }
    }
}
