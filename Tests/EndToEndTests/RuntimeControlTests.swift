import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Testing

extension EndToEnd {
    @Test("runtime control: paused, submitted jobs stay queued while the worker idles; a live worker's concurrency changes; resumed, all complete")
    func pauseResumeAndConcurrency() async throws {
        let mock = try await MockUpstream(name: "mock-runtime-control")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await mock.behave(#"{"latency_ms":200}"#)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 20)
            let worker = try await ManagedProcess.worker("worker-runtime-control", concurrency: 2)
            defer { Task { await worker.stop() } }
            func shown() async throws -> [String: Any]? {
                let (_, body) = try await Fixture.adminCall(client, .get, "/api/admin/workers")
                return (body["workers"] as? [[String: Any]])?.first { $0["pid"] as? Int == Int(worker.pid) }
            }
            var workerID: String?
            let deadline = ContinuousClock.now + .seconds(15)
            while workerID == nil && ContinuousClock.now < deadline {
                workerID = try await shown()?["worker_id"] as? String
                if workerID == nil { try await Task.sleep(for: .milliseconds(200)) }
            }
            let id = try #require(workerID)

            let (pausedStatus, paused) = try await Fixture.adminCall(client, .post, "/api/admin/queue/pause")
            do {
                #expect(pausedStatus == .ok && paused["paused"] as? Bool == true)
                let ids = try await submitMany(client, team, 4)
                #expect(ids.count == 4, "submits are accepted while paused")
                // Bounded, not timed: the worker had 2 s to claim and took nothing.
                try await Task.sleep(for: .seconds(2))
                #expect(
                    try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1 AND status = 'queued'", [.text(team.teamID)]) == 4
                )
                #expect(
                    try await count(
                        postgres,
                        "SELECT count(*) AS n FROM job_calls c JOIN jobs j ON j.job_id = c.job_id WHERE j.team_id = $1",
                        [.text(team.teamID)]
                    ) == 0
                )
                let (_, queue) = try await Fixture.adminCall(client, .get, "/api/admin/queue")
                #expect(queue["paused"] as? Bool == true)
                #expect(try await shown()?["in_flight"] as? Int == 0, "the worker idles")

                // The live worker's concurrency, changed without a restart: answered at once,
                // reported by its next heartbeat.
                let (changedStatus, changed) = try await Fixture.adminCall(
                    client,
                    .put,
                    "/api/admin/workers/\(id)/concurrency",
                    #"{"concurrency": 5}"#
                )
                #expect(changedStatus == .ok)
                #expect(changed["worker_id"] as? String == id && changed["concurrency"] as? Int == 5)
                var reported: Int?
                let heartbeats = ContinuousClock.now + .seconds(15)
                while reported != 5 && ContinuousClock.now < heartbeats {
                    reported = try await shown()?["concurrency"] as? Int
                    if reported != 5 { try await Task.sleep(for: .milliseconds(200)) }
                }
                #expect(reported == 5, "GET /api/admin/workers shows the new concurrency")
                #expect(worker.isRunning)

                let (resumedStatus, resumed) = try await Fixture.adminCall(client, .post, "/api/admin/queue/resume")
                #expect(resumedStatus == .ok && resumed["paused"] as? Bool == false)
                try await Fixture.waitForJobs(postgres, ids, timeout: .seconds(60))
                #expect(
                    try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1 AND status = 'completed'", [.text(team.teamID)])
                        == 4
                )
                let (unknown, missing) = try await Fixture.adminCall(
                    client,
                    .put,
                    "/api/admin/workers/no-such-worker/concurrency",
                    #"{"concurrency": 3}"#
                )
                #expect(unknown == .notFound && missing["detail"] as? String == "Worker 'no-such-worker' not found")
            } catch {
                // Never leave the shared queue paused for the tests after this one.
                _ = try? await Fixture.adminCall(client, .post, "/api/admin/queue/resume")
                throw error
            }
            let (_, queue) = try await Fixture.adminCall(client, .get, "/api/admin/queue")
            #expect(queue["paused"] as? Bool == false)
        }
        try await Fixture.checkLedger(postgres)
    }
}
