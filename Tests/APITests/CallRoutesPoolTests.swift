import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API

/// The call routes use one pooled PostgreSQL connection at a time. A handler that held one while
/// waiting for a second let a burst take the whole pool and wait on each other until the acquire
/// timeout (found by the create-and-call benchmark: every request stalled 10 s, then a 503).
@Suite("Call routes and the PostgreSQL pool")
struct CallRoutesPoolTests {
    @Test("a burst of GET …/costs larger than the pool all answer (none waits out the acquire timeout)")
    func costsBurst() async throws {
        let overrides = ["DATABASE_POOL_SIZE": "2", "DATABASE_ACQUIRE_TIMEOUT_SECONDS": "3"]
        try await TestApp.test(overrides) { client in
            let caller = Caller(client: client)
            let provider = try await caller.createProvider()
            let group = try await caller.createModelGroup(provider: provider)
            let team = try await caller.createTeam(groups: [group], credits: 1_000)
            let submitted = try await caller.team(
                team.key,
                .post,
                "/api/jobs/create",
                #"{"team_id":"\#(team.id)","job_type":"chat","model":"\#(group)","messages":[{"role":"user","content":"hi"}]}"#
            )
            let jobID = try #require(submitted.string("job_id"))
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { tasks in
                for _ in 0..<16 {
                    tasks.addTask { try await caller.team(team.key, .get, "/api/jobs/\(jobID)/costs").status }
                }
                return try await tasks.reduce(into: []) { $0.append($1) }
            }
            // Stalled on each other, the requests would wait out the acquire timeout: 503s.
            #expect(statuses.allSatisfy { $0 == .ok }, "\(statuses)")
        }
    }
}
