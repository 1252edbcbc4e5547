import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MockLLM

@Suite("POST /v1/messages")
struct AnthropicRouteTests {
    @Test("answers a message with deterministic text and Anthropic's usage fields")
    func happyPath() async throws {
        try await withMock { client in
            let body =
                #"{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"be brief","messages":[{"role":"user","content":[{"type":"text","text":"Hello, mock!"}]}]}"#
            let response = try await client.messages(body)
            #expect(response.status == .ok)
            let json = try #require(response.json)
            #expect((json["id"] as? String)?.hasPrefix("msg_") == true)
            #expect(json["type"] as? String == "message")
            #expect(json["role"] as? String == "assistant")
            #expect(json["model"] as? String == "claude-sonnet-4-5")
            #expect(json["stop_reason"] as? String == "end_turn")
            let block = try #require((json["content"] as? [[String: Any]])?.first)
            #expect(block["type"] as? String == "text")
            let text = try #require(block["text"] as? String)
            #expect(text.hasPrefix("mock analysis of 20 characters: Hello, mock! ["))
            // the system prompt counts as a message: ceil(20 / 4) + 3 × 2
            let usage = try #require(json["usage"] as? [String: Int])
            #expect(usage["input_tokens"] == 11)
            #expect(usage["output_tokens"] == (text.unicodeScalars.count + 3) / 4)
            #expect(usage["cache_creation_input_tokens"] == 0)
            #expect(usage["cache_read_input_tokens"] == 0)
            let requestID = try #require(response.header("request-id"))
            #expect(requestID.hasPrefix("req_"))
            #expect(response.header("x-request-id") == requestID)

            let again = try await client.messages(body)
            #expect(((again.json?["content"] as? [[String: Any]])?.first?["text"] as? String) == text)
        }
    }

    @Test("the same conversation gets the same text from both dialects")
    func sameReplyAsOpenAI() async throws {
        try await withMock { client in
            let openAI = try await client.chat(#"{"model":"same","messages":[{"role":"user","content":"ping"}]}"#)
            let anthropic = try await client.messages(#"{"model":"same","max_tokens":100,"messages":[{"role":"user","content":"ping"}]}"#)
            let text = (anthropic.json?["content"] as? [[String: Any]])?.first?["text"] as? String
            #expect(text != nil)
            #expect(text == openAI.message?["content"] as? String)
        }
    }

    @Test("400 when max_tokens is missing")
    func missingMaxTokens() async throws {
        try await withMock { client in
            let response = try await client.messages(messagesBody(extra: ""))
            #expect(response.status == .badRequest)
            #expect(response.json?["type"] as? String == "error")
            let error = try #require(response.json?["error"] as? [String: Any])
            #expect(error["type"] as? String == "invalid_request_error")
            #expect(error["message"] as? String == "max_tokens: Field required")
            #expect(response.header("request-id") != nil)
        }
    }

    @Test("401 without x-api-key, 400 without anthropic-version")
    func headers() async throws {
        try await withMock { client in
            let noKey = try await client.messages(messagesBody(), headers: [HTTPField.Name("anthropic-version")!: "2023-06-01"])
            #expect(noKey.status == .unauthorized)
            #expect((noKey.json?["error"] as? [String: Any])?["type"] as? String == "authentication_error")

            let noVersion = try await client.messages(messagesBody(), headers: [HTTPField.Name("x-api-key")!: "k"])
            #expect(noVersion.status == .badRequest)
            #expect((noVersion.json?["error"] as? [String: Any])?["message"] as? String == "anthropic-version: header is required")

            let bearerOnly = try await client.messages(
                messagesBody(),
                headers: [.authorization: "Bearer k", HTTPField.Name("anthropic-version")!: "2023-06-01"]
            )
            #expect(bearerOnly.status == .unauthorized)
        }
    }

    @Test("answers a tool_use block when tools are offered")
    func toolUse() async throws {
        let tools =
            #","max_tokens":512,"tools":[{"name":"lookup","description":"Look up","input_schema":{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer"}}}}]"#
        try await withMock { client in
            let response = try await client.messages(messagesBody(extra: tools))
            #expect(response.status == .ok)
            #expect(response.json?["stop_reason"] as? String == "tool_use")
            let block = try #require((response.json?["content"] as? [[String: Any]])?.first)
            #expect(block["type"] as? String == "tool_use")
            #expect((block["id"] as? String)?.hasPrefix("toolu_") == true)
            #expect(block["name"] as? String == "lookup")
            let input = try #require(block["input"] as? [String: Any])
            #expect(input["query"] as? String == "mock")
            #expect(input["limit"] as? Int == 1)

            let refused = try await client.messages(messagesBody(extra: tools + #","tool_choice":{"type":"none"}"#))
            #expect(refused.json?["stop_reason"] as? String == "end_turn")
        }
    }

    @Test("cuts the text at max_tokens with stop_reason max_tokens")
    func maxTokens() async throws {
        try await withMock { client in
            let response = try await client.messages(messagesBody(extra: #","max_tokens":2"#))
            #expect(response.json?["stop_reason"] as? String == "max_tokens")
            #expect(((response.json?["content"] as? [[String: Any]])?.first?["text"] as? String) == "mock ana")
            #expect((response.json?["usage"] as? [String: Int])?["output_tokens"] == 2)
        }
    }

    @Test("prompt too long: 400 in Anthropic's words")
    func contextLimit() async throws {
        try await withMock(MockBehaviour(contextLimit: 5)) { client in
            let response = try await client.messages(messagesBody(String(repeating: "y", count: 40)))
            #expect(response.status == .badRequest)
            #expect((response.json?["error"] as? [String: Any])?["message"] as? String == "prompt is too long: 13 tokens > 5 maximum")
        }
    }
}
