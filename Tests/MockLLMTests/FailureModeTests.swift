import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MockLLM

@Suite("Injected failures")
struct FailureModeTests {
    struct Expectation: Sendable, CustomTestStringConvertible {
        var mode: String
        var status: Int
        var type: String
        var code: String?
        var anthropicType: String
        var testDescription: String { mode }
    }

    static let modes: [Expectation] = [
        .init(mode: "rate_limit", status: 429, type: "requests", code: "rate_limit_exceeded", anthropicType: "rate_limit_error"),
        .init(mode: "server_error", status: 500, type: "server_error", code: nil, anthropicType: "api_error"),
        .init(mode: "overloaded", status: 529, type: "overloaded_error", code: "overloaded", anthropicType: "overloaded_error"),
        .init(mode: "bad_key", status: 401, type: "invalid_request_error", code: "invalid_api_key", anthropicType: "authentication_error"),
        .init(mode: "quota", status: 429, type: "insufficient_quota", code: "insufficient_quota", anthropicType: "rate_limit_error"),
        .init(mode: "context", status: 400, type: "invalid_request_error", code: "context_length_exceeded", anthropicType: "invalid_request_error"),
    ]

    @Test("each error mode answers the provider's error, in each dialect", arguments: modes)
    func errorModes(_ expected: Expectation) async throws {
        try await withMock { client in
            try await client.setBehaviour(#"{"mode":"\#(expected.mode)"}"#)
            let openAI = try await client.chat(chatBody())
            #expect(openAI.status.code == expected.status)
            #expect(openAI.openAIError?["type"] as? String == expected.type)
            #expect(openAI.openAIError?["code"] as? String == expected.code)
            #expect(openAI.openAIError?["message"] is String)
            #expect(openAI.header("x-request-id") != nil)

            let anthropic = try await client.messages(messagesBody())
            #expect(anthropic.status.code == expected.status)
            #expect(anthropic.json?["type"] as? String == "error")
            #expect((anthropic.json?["error"] as? [String: Any])?["type"] as? String == expected.anthropicType)
            #expect(anthropic.header("request-id") != nil)
        }
    }

    @Test("rate_limit sends Retry-After (whole seconds, rounded up) and retry-after-ms")
    func rateLimitHeaders() async throws {
        try await withMock(MockBehaviour(mode: .rateLimit)) { client in
            let standard = try await client.chat(chatBody())
            #expect(standard.status == .tooManyRequests)
            #expect(standard.header("retry-after") == "1")
            #expect(standard.header("retry-after-ms") == "1000")

            try await client.setBehaviour(#"{"retry_after_seconds":2.5}"#)
            let longer = try await client.messages(messagesBody())
            #expect(longer.header("retry-after") == "3")
            #expect(longer.header("retry-after-ms") == "2500")
        }
    }

    @Test("quota sends no Retry-After: waiting does not help")
    func quotaHasNoRetryAfter() async throws {
        try await withMock(MockBehaviour(mode: .quota)) { client in
            let response = try await client.chat(chatBody())
            #expect(response.status == .tooManyRequests)
            #expect(response.header("retry-after") == nil)
            let anthropic = try await client.messages(messagesBody())
            let details = (anthropic.json?["error"] as? [String: Any])?["details"] as? [String: Any]
            #expect(details?["error_code"] as? String == "enforced_spend_limit_reached")
        }
    }

    @Test("malformed answers 200 with a body that is not JSON")
    func malformed() async throws {
        try await withMock(MockBehaviour(mode: .malformed)) { client in
            for response in [try await client.chat(chatBody()), try await client.messages(messagesBody())] {
                #expect(response.status == .ok)
                #expect(response.text.hasPrefix("{\"id\":"))
                #expect(response.json == nil)
            }
        }
    }

    @Test("timeout holds the call for timeout_seconds, then 504")
    func timeout() async throws {
        try await withMock(MockBehaviour(mode: .timeout, timeoutSeconds: 0.3)) { client in
            let start = ContinuousClock.now
            let response = try await client.chat(chatBody())
            #expect(ContinuousClock.now - start >= .milliseconds(300))
            #expect(response.status == .gatewayTimeout)
            #expect(response.header("connection") == "close")
            let stats = try await client.stats()
            #expect(stats["in_flight"] as? Int == 0)
        }
    }

    @Test("latency_ms delays every call, failures included")
    func latency() async throws {
        try await withMock(MockBehaviour(latencyMs: 150)) { client in
            var start = ContinuousClock.now
            #expect(try await client.chat(chatBody()).status == .ok)
            #expect(ContinuousClock.now - start >= .milliseconds(150))

            try await client.setBehaviour(#"{"mode":"server_error"}"#)
            start = ContinuousClock.now
            #expect(try await client.messages(messagesBody()).status == .internalServerError)
            #expect(ContinuousClock.now - start >= .milliseconds(150))
        }
    }

    @Test("failure_rate 0.5 fails calls 1, 3, 5…; a PUT restarts the count")
    func failureRatePattern() async throws {
        try await withMock { client in
            try await client.setBehaviour(#"{"mode":"rate_limit","failure_rate":0.5}"#)
            var statuses: [Int] = []
            for index in 0..<6 {
                // both dialects share the counter
                let response: TestResponse
                if index.isMultiple(of: 2) {
                    response = try await client.chat(chatBody())
                } else {
                    response = try await client.messages(messagesBody())
                }
                statuses.append(response.status.code)
            }
            #expect(statuses == [429, 200, 429, 200, 429, 200])

            try await client.setBehaviour(#"{"failure_rate":0.5}"#)
            #expect(try await client.chat(chatBody()).status == .tooManyRequests)
        }
    }

    @Test("fail_first_n fails only the first N calls after the PUT")
    func failFirstN() async throws {
        try await withMock { client in
            try await client.setBehaviour(#"{"mode":"server_error","fail_first_n":2}"#)
            var statuses: [Int] = []
            for _ in 0..<5 { statuses.append(try await client.chat(chatBody()).status.code) }
            #expect(statuses == [500, 500, 200, 200, 200])

            try await client.setBehaviour(#"{"mode":"overloaded"}"#)
            statuses = []
            for _ in 0..<3 { statuses.append(try await client.messages(messagesBody()).status.code) }
            #expect(statuses == [529, 529, 200])
        }
    }

    @Test(
        "the pattern is exact for any rate",
        arguments: [
            (0.0, [Int]()), (1.0, Array(1...20)), (0.5, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]),
            (0.25, [1, 5, 9, 13, 17]), (0.1, [1, 11]), (0.3, [1, 4, 7, 11, 14, 17]),
        ]
    )
    func patterns(_ rate: Double, _ failing: [Int]) {
        let behaviour = MockBehaviour(mode: .serverError, failureRate: rate)
        #expect((1...20).filter(behaviour.failsCall) == failing)
    }

    @Test("mode ok never fails, whatever the rate")
    func okNeverFails() {
        #expect(!(1...10).contains(where: MockBehaviour(mode: .ok, failureRate: 1).failsCall))
    }
}
