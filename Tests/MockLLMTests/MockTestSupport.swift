import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting

@testable import MockLLM

/// Runs the mock in-process (Hummingbird's `.router` test mode) with `behaviour` at start.
func withMock<T: Sendable>(
    _ behaviour: MockBehaviour = MockBehaviour(),
    _ body: @escaping @Sendable (any TestClientProtocol) async throws -> T
) async throws -> T {
    try await buildMockApplication(behaviour: behaviour).test(.router) { client in try await body(client) }
}

/// A minimal valid chat-completions body with one user message.
func chatBody(_ text: String = "Hello, mock!", extra: String = "") -> String {
    #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":\#(jsonString(text))}]\#(extra)}"#
}

/// A minimal valid Anthropic messages body with one user message.
func messagesBody(_ text: String = "Hello, mock!", extra: String = #","max_tokens":1024"#) -> String {
    #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":\#(jsonString(text))}]\#(extra)}"#
}

func jsonString(_ text: String) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: text, options: .fragmentsAllowed), as: UTF8.self)
}

extension TestClientProtocol {
    func chat(_ body: String, headers: HTTPFields = [.authorization: "Bearer sk-test"]) async throws -> TestResponse {
        try await self.execute(uri: "/v1/chat/completions", method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    func messages(_ body: String, headers: HTTPFields = anthropicHeaders) async throws -> TestResponse {
        try await self.execute(uri: "/v1/messages", method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// `PUT /_mock/behaviour`, expecting it to be accepted.
    @discardableResult
    func setBehaviour(_ body: String) async throws -> TestResponse {
        let response = try await self.execute(uri: "/_mock/behaviour", method: .put, body: ByteBuffer(string: body))
        precondition(response.status == .ok, "behaviour refused: \(String(buffer: response.body))")
        return response
    }

    func stats() async throws -> [String: Any] {
        try await self.execute(uri: "/_mock/stats", method: .get).json!
    }
}

let anthropicHeaders: HTTPFields = [HTTPField.Name("x-api-key")!: "sk-ant-test", HTTPField.Name("anthropic-version")!: "2023-06-01"]

extension TestResponse {
    var text: String { String(buffer: self.body) }

    var json: [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(self.text.utf8)) as? [String: Any]
    }

    /// `error` of an OpenAI error body.
    var openAIError: [String: Any]? { self.json?["error"] as? [String: Any] }

    /// `choices[0]` of a chat completion.
    var firstChoice: [String: Any]? { (self.json?["choices"] as? [[String: Any]])?.first }

    var message: [String: Any]? { self.firstChoice?["message"] as? [String: Any] }

    var usage: [String: Int]? { self.json?["usage"] as? [String: Int] }

    func header(_ name: String) -> String? { self.headers[HTTPField.Name(name)!] }
}
