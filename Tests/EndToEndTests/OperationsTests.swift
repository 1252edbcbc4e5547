import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Postgres
import Shared
import Testing

extension EndToEnd {
    @Test("SIGTERM: in-flight jobs past the grace period are handed back, not failed nor counted, and complete elsewhere")
    func gracefulShutdown() async throws {
        let mock = try await MockUpstream(name: "mock-sigterm")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await mock.behave(#"{"latency_ms":8000}"#)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            let worker = try await ManagedProcess.worker("worker-sigterm", environment: ["WORKER_SHUTDOWN_GRACE_SECONDS": "1"])
            let ids = try await submitMany(client, team, 3)
            let deadline = ContinuousClock.now + .seconds(15)
            while try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1 AND status = 'in_progress'", [.text(team.teamID)]) < 3
            {
                guard ContinuousClock.now < deadline else { throw HarnessError.timeout("jobs never started") }
                try await Task.sleep(for: .milliseconds(50))
            }
            let stopping = ContinuousClock.now
            worker.terminate()
            #expect(await worker.waitForExit(timeout: .seconds(6)), "the worker did not stop after its grace period")
            #expect(ContinuousClock.now - stopping < .seconds(6))
            let states = try await postgres.query(
                "SELECT status, attempts, lease_expiries FROM jobs WHERE team_id = $1",
                [.text(team.teamID)]
            )
            for row in states {
                #expect(try row.decode("status", as: String.self) == "queued")
                #expect(try row.decode("attempts", as: Int.self) == 0)
                #expect(try row.decode("lease_expiries", as: Int.self) == 0)
            }
            try await mock.behave(#"{"latency_ms":0}"#)
            let next = try await ManagedProcess.worker("worker-after-sigterm")
            defer { Task { await next.stop() } }
            try await Fixture.waitForJobs(postgres, ids, timeout: .seconds(20))
            #expect(
                try await count(
                    postgres,
                    "SELECT count(*) AS n FROM jobs WHERE team_id = $1 AND status = 'completed' AND attempts = 1",
                    [.text(team.teamID)]
                ) == 3
            )
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("admins see live workers and the queue, and drain one: it finishes its jobs and exits")
    func drain() async throws {
        let mock = try await MockUpstream(name: "mock-drain")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await mock.behave(#"{"latency_ms":1500}"#)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            let worker = try await ManagedProcess.worker("worker-drain", concurrency: 7)
            defer { Task { await worker.stop() } }
            var workerID: String?
            let deadline = ContinuousClock.now + .seconds(10)
            while workerID == nil && ContinuousClock.now < deadline {
                let (_, body) = try await Fixture.adminCall(client, .get, "/api/admin/workers")
                workerID = (body["workers"] as? [[String: Any]])?.first { $0["pid"] as? Int == Int(worker.pid) }?["worker_id"] as? String
                if workerID == nil { try await Task.sleep(for: .milliseconds(200)) }
            }
            let id = try #require(workerID)
            let ids = try await submitMany(client, team, 2)
            try await Task.sleep(for: .milliseconds(300))
            let (_, queue) = try await Fixture.adminCall(client, .get, "/api/admin/queue")
            let row = (queue["teams"] as? [[String: Any]])?.first { $0["team_id"] as? String == team.teamID }
            #expect((row?["in_progress"] as? Int ?? 0) + (row?["queued"] as? Int ?? 0) == 2)
            #expect(((queue["totals"] as? [String: Any])?["worker_capacity"] as? Int ?? 0) >= 7)

            let (status, drained) = try await Fixture.adminCall(client, .post, "/api/admin/workers/\(id)/drain")
            #expect(status == .ok && drained["draining"] as? Bool == true)
            #expect(await worker.waitForExit(timeout: .seconds(15)), "the drained worker did not exit")
            try await Fixture.waitForJobs(postgres, ids, timeout: .seconds(5))
            #expect(
                try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1 AND status = 'completed'", [.text(team.teamID)]) == 2
            )
            let (missing, body) = try await Fixture.adminCall(client, .post, "/api/admin/workers/no-such-worker/drain")
            #expect(missing == .notFound)
            #expect(body["detail"] as? String == "Worker 'no-such-worker' not found")
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("a suspended team's queued jobs wait, and run once it is resumed")
    func suspendedTeamWaits() async throws {
        let mock = try await MockUpstream(name: "mock-suspend")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            let jobID = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            let (suspended, _) = try await Fixture.adminCall(client, .put, "/api/teams/\(team.teamID)/suspend")
            #expect(suspended == .ok)
            let worker = try await ManagedProcess.worker("worker-suspend")
            defer { Task { await worker.stop() } }
            try await Task.sleep(for: .seconds(2))
            let waiting = try await postgres.query("SELECT status FROM jobs WHERE job_id = $1::uuid", [.text(jobID)])
            #expect(try waiting.first?.decode("status", as: String.self) == "queued")
            #expect(try await count(postgres, "SELECT count(*) AS n FROM job_calls WHERE job_id = $1::uuid", [.text(jobID)]) == 0)
            let (resumed, _) = try await Fixture.adminCall(client, .put, "/api/teams/\(team.teamID)/resume")
            #expect(resumed == .ok)
            try await Fixture.waitForJobs(postgres, [jobID], timeout: .seconds(10))
            let done = try await postgres.query("SELECT status FROM jobs WHERE job_id = $1::uuid", [.text(jobID)])
            #expect(try done.first?.decode("status", as: String.self) == "completed")
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("GET ?wait= answers as soon as the job completes, not at the deadline")
    func longPoll() async throws {
        let mock = try await MockUpstream(name: "mock-wait")
        defer { Task { await mock.stop() } }
        try await mock.behave(#"{"latency_ms":800}"#)
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            let worker = try await ManagedProcess.worker("worker-wait")
            defer { Task { await worker.stop() } }
            let jobID = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            let started = ContinuousClock.now
            let (_, job) = try await Fixture.get(client, team, "/api/jobs/\(jobID)?wait=30")
            let elapsed = ContinuousClock.now - started
            #expect(job["status"] as? String == "completed")
            #expect(elapsed < .seconds(10), "the long poll waited \(elapsed)")
            // A job that does not finish answers at its (clamped) deadline with its current state.
            try await mock.behave(#"{"latency_ms":20000}"#)
            let slow = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            let t0 = ContinuousClock.now
            let (_, pending) = try await Fixture.get(client, team, "/api/jobs/\(slow)?wait=1")
            #expect(["queued", "in_progress"].contains(pending["status"] as? String ?? ""))
            #expect(ContinuousClock.now - t0 >= .milliseconds(900))
            _ = try await client.execute(uri: "/api/jobs/\(slow)/cancel", method: .post, headers: [.authorization: "Bearer \(team.key)"]) { _ in }
        }
    }
}
