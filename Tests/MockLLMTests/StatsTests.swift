import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MockLLM

@Suite("GET /_mock/stats")
struct StatsTests {
    @Test("counts answers by status and by route, control routes excepted")
    func counters() async throws {
        try await withMock { client in
            _ = try await client.chat(chatBody())
            _ = try await client.chat(chatBody())
            _ = try await client.chat(chatBody(), headers: [:])
            _ = try await client.messages(messagesBody())
            _ = try await client.execute(uri: "/health", method: .get)
            _ = try await client.execute(uri: "/nowhere", method: .get)
            try await client.setBehaviour(#"{"mode":"server_error","fail_first_n":1}"#)
            _ = try await client.chat(chatBody())
            _ = try await client.execute(uri: "/_mock/behaviour", method: .get)

            let stats = try await client.stats()
            #expect(stats["total"] as? Int == 7)
            #expect(stats["by_status"] as? [String: Int] == ["200": 4, "401": 1, "404": 1, "500": 1])
            #expect(stats["by_path"] as? [String: Int] == ["/v1/chat/completions": 4, "/v1/messages": 1, "/health": 1, "NotFound": 1])
            #expect(stats["in_flight"] as? Int == 0)
            #expect(stats["max_in_flight"] as? Int == 1)
            #expect(stats["behaviour_calls"] as? Int == 1)
            #expect(stats["behaviour_failures"] as? Int == 1)

            let reset = try await client.execute(uri: "/_mock/stats/reset", method: .post)
            #expect(reset.json?["total"] as? Int == 0)
            #expect(reset.json?["by_status"] as? [String: Int] == [:])
            #expect(try await client.stats()["total"] as? Int == 0)
        }
    }

    @Test("max_in_flight measures the client's concurrency")
    func concurrency() async throws {
        try await withMock(MockBehaviour(latencyMs: 300)) { client in
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await client.chat(chatBody()).status }
                }
                for try await status in group { #expect(status == .ok) }
            }
            let stats = try await client.stats()
            #expect(stats["max_in_flight"] as? Int == 8)
            #expect(stats["in_flight"] as? Int == 0)
            #expect(stats["total"] as? Int == 8)
        }
    }
}
