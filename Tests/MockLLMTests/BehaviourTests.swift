import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MockLLM

@Suite("Behaviour: GET/PUT /_mock/behaviour, POST /_mock/reset, command-line flags")
struct BehaviourTests {
    static let defaults =
        #"{"latency_ms":0,"mode":"ok","failure_rate":1.0,"fail_first_n":0,"retry_after_seconds":1.0,"timeout_seconds":600.0,"context_limit":1000000}"#

    @Test("GET shows every field; PUT replaces only the fields it lists")
    func getAndPut() async throws {
        try await withMock { client in
            #expect(try await client.execute(uri: "/_mock/behaviour", method: .get).text == Self.defaults)

            let put = try await client.setBehaviour(#"{"latency_ms":25,"mode":"quota"}"#)
            #expect(put.json?["latency_ms"] as? Int == 25)
            #expect(put.json?["mode"] as? String == "quota")
            #expect(put.json?["context_limit"] as? Int == 1_000_000)

            try await client.setBehaviour(#"{"context_limit":50}"#)
            let current = try #require(try await client.execute(uri: "/_mock/behaviour", method: .get).json)
            #expect(current["latency_ms"] as? Int == 25)
            #expect(current["mode"] as? String == "quota")
            #expect(current["context_limit"] as? Int == 50)
        }
    }

    @Test("PUT refuses unknown fields and bad values with 400, and changes nothing")
    func putValidation() async throws {
        try await withMock { client in
            let refused = [
                #"{"latency":10}"#, #"{"mode":"explode"}"#, #"{"failure_rate":1.5}"#, #"{"latency_ms":-1}"#,
                #"{"fail_first_n":-2}"#, #"{"context_limit":0}"#, #"{"context_limit":2000000000}"#, #"{"retry_after_seconds":"soon"}"#, "not json",
            ]
            for body in refused {
                let response = try await client.execute(uri: "/_mock/behaviour", method: .put, body: ByteBuffer(string: body))
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.openAIError?["message"] is String, "\(body)")
            }
            #expect(try await client.execute(uri: "/_mock/behaviour", method: .get).text == Self.defaults)
        }
    }

    @Test("POST /_mock/reset restores the behaviour given at start and restarts the count")
    func reset() async throws {
        try await withMock(MockBehaviour(latencyMs: 1, mode: .serverError, failFirstN: 1)) { client in
            #expect(try await client.chat(chatBody()).status == .internalServerError)
            #expect(try await client.chat(chatBody()).status == .ok)
            try await client.setBehaviour(#"{"mode":"bad_key","fail_first_n":0}"#)
            #expect(try await client.chat(chatBody()).status == .unauthorized)

            let reset = try await client.execute(uri: "/_mock/reset", method: .post)
            #expect(reset.json?["mode"] as? String == "server_error")
            #expect(reset.json?["latency_ms"] as? Int == 1)
            #expect(try await client.chat(chatBody()).status == .internalServerError)
            #expect(try await client.chat(chatBody()).status == .ok)
        }
    }

    @Test("command-line flags set the behaviour at start")
    func flags() throws {
        let command = try MockLLM.parse([
            "--latency-ms", "1000", "--mode", "rate_limit", "--failure-rate", "0.5", "--fail-first-n", "4",
            "--retry-after-seconds", "2", "--timeout-seconds", "5", "--context-limit", "8192", "--port", "9999",
        ])
        #expect(
            command.behaviour
                == MockBehaviour(
                    latencyMs: 1000,
                    mode: .rateLimit,
                    failureRate: 0.5,
                    failFirstN: 4,
                    retryAfterSeconds: 2,
                    timeoutSeconds: 5,
                    contextLimit: 8192
                )
        )
        #expect(command.port == 9999)
        #expect(try MockLLM.parse([]).behaviour == MockBehaviour())
        #expect(throws: (any Error).self) { try MockLLM.parse(["--mode", "explode"]) }
        #expect(throws: (any Error).self) { try MockLLM.parse(["--failure-rate", "2"]) }
    }
}
