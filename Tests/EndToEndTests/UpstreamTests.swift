import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Postgres
import Shared
import Testing

extension EndToEnd {
    /// A team whose model group tries `mocks` in order, one provider each (kind per mock).
    func team(_ client: any TestClientProtocol, mocks: [(MockUpstream, String)], credits: Int = 100) async throws -> (TestTeam, [String]) {
        let org = Fixture.unique("org")
        let group = Fixture.unique("grp")
        let teamID = Fixture.unique("team")
        _ = try await Fixture.adminCall(client, .post, "/api/organizations/create", #"{"organization_id":"\#(org)","name":"E2E"}"#)
        var providers: [String] = []
        var models: [String] = []
        for (index, (mock, kind)) in mocks.enumerated() {
            let provider = Fixture.unique("prov")
            providers.append(provider)
            let (status, _) = try await Fixture.adminCall(
                client,
                .post,
                "/api/providers/create",
                #"{"name":"\#(provider)","kind":"\#(kind)","base_url":"\#(mock.baseURL)","api_key":"sk-mock-key","timeout_seconds":2}"#
            )
            #expect(status == .ok)
            models.append(
                #"{"model_name":"model-\#(index)","provider":"\#(provider)","priority":\#(index),"input_price_per_million":1,"output_price_per_million":1}"#
            )
        }
        let (created, _) = try await Fixture.adminCall(
            client,
            .post,
            "/api/model-groups/create",
            #"{"group_name":"\#(group)","models":[\#(models.joined(separator: ","))]}"#
        )
        #expect(created == .ok)
        let (_, body) = try await Fixture.adminCall(
            client,
            .post,
            "/api/teams/create",
            #"{"organization_id":"\#(org)","team_id":"\#(teamID)","model_groups":["\#(group)"],"credits_allocated":\#(credits)}"#
        )
        return (TestTeam(teamID: teamID, key: body["virtual_key"] as? String ?? "", group: group), providers)
    }

    func calls(_ client: any TestClientProtocol, _ team: TestTeam, _ jobID: String) async throws -> [[String: Any]] {
        try await Fixture.get(client, team, "/api/jobs/\(jobID)/calls").1["calls"] as? [[String: Any]] ?? []
    }

    @Test("5xx, timeouts and malformed bodies are retried with backoff, each using an attempt")
    func transientErrorsRetry() async throws {
        let mock = try await MockUpstream(name: "mock-transient")
        defer { Task { await mock.stop() } }
        try await E2E.withAPI { client in
            let (team, _) = try await team(client, mocks: [(mock, "openai")])
            let worker = try await ManagedProcess.worker("worker-transient", environment: ["CIRCUIT_FAILURE_THRESHOLD": "100"])
            defer { Task { await worker.stop() } }
            for mode in ["server_error", "overloaded", "malformed", "timeout"] {
                try await mock.behave(#"{"mode":"\#(mode)","fail_first_n":2,"timeout_seconds":5}"#)
                let jobID = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
                let job = try await Fixture.waitForTerminal(client, team, jobID)
                #expect(job["status"] as? String == "completed", "\(mode)")
                #expect(job["attempts"] as? Int == 3, "\(mode): two failed deliveries, then one that completed")
                let list = try await calls(client, team, jobID)
                #expect(list.filter { $0["error_class"] as? String == "transient" }.count == 2, "\(mode)")
                #expect(list.filter { $0["billed"] as? Bool == true }.count == 1)
            }
        }
    }

    @Test("429: waits Retry-After and tries again without using an attempt; a 429 storm fails no job")
    func rateLimits() async throws {
        let mock = try await MockUpstream(name: "mock-429")
        defer { Task { await mock.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let (team, _) = try await team(client, mocks: [(mock, "openai")], credits: 1000)
            let worker = try await ManagedProcess.worker("worker-429", concurrency: 16)
            defer { Task { await worker.stop() } }
            try await mock.behave(#"{"mode":"rate_limit","fail_first_n":1,"retry_after_seconds":1}"#)
            let started = ContinuousClock.now
            let jobID = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            let job = try await Fixture.waitForTerminal(client, team, jobID)
            #expect(job["status"] as? String == "completed")
            #expect(job["attempts"] as? Int == 1, "a 429 must not use an attempt")
            #expect(ContinuousClock.now - started >= .milliseconds(900), "Retry-After was not honoured")
            #expect(try await calls(client, team, jobID).first?["status_code"] as? Int == 429)

            // A storm: half of all calls answered 429.
            try await mock.behave(#"{"mode":"rate_limit","failure_rate":0.5,"retry_after_seconds":0.2}"#)
            let ids = try await submitMany(client, team, 30)
            try await Fixture.waitForJobs(postgres, ids, timeout: .seconds(60))
            #expect(
                try await count(
                    postgres,
                    "SELECT count(*) AS n FROM jobs WHERE job_id = ANY($1::text[]::uuid[]) AND status = 'completed'",
                    [.textArray(ids)]
                ) == 30
            )
        }
    }

    @Test("request errors are not retried; a context too long for every model fails as context_too_long")
    func permanentErrors() async throws {
        let mock = try await MockUpstream(name: "mock-400")
        defer { Task { await mock.stop() } }
        try await E2E.withAPI { client in
            let (team, _) = try await team(client, mocks: [(mock, "openai")])
            let worker = try await ManagedProcess.worker("worker-400")
            defer { Task { await worker.stop() } }
            try await mock.behave(#"{"mode":"context"}"#)
            let jobID = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            let job = try await Fixture.waitForTerminal(client, team, jobID)
            #expect(job["status"] as? String == "failed")
            #expect((job["error"] as? [String: Any])?["code"] as? String == "context_too_long")
            #expect(job["credits_charged"] as? Int == 0)
            #expect(try await calls(client, team, jobID).count == 1, "a request error must not be retried")
        }
    }

    @Test("a provider down (bad key): fallback to the second provider, its circuit opens, then closes after a good probe")
    func fallbackAndCircuit() async throws {
        let primary = try await MockUpstream(name: "mock-primary")
        let secondary = try await MockUpstream(name: "mock-secondary")
        defer {
            Task {
                await primary.stop()
                await secondary.stop()
            }
        }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let (team, providers) = try await team(client, mocks: [(primary, "openai"), (secondary, "openai")])
            let worker = try await ManagedProcess.worker("worker-fallback")
            defer { Task { await worker.stop() } }
            try await primary.behave(#"{"mode":"bad_key"}"#)
            let first = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            let job = try await Fixture.waitForTerminal(client, team, first)
            #expect(job["status"] as? String == "completed")
            let list = try await calls(client, team, first)
            #expect(list.map { $0["provider"] as? String } == [providers[0], providers[1]])
            #expect(list.first?["status_code"] as? Int == 401)
            #expect(list.first?["error_class"] as? String == "bad_credentials")

            // The circuit is open: admins see it, and jobs go straight to the fallback.
            let (_, listed) = try await Fixture.adminCall(client, .get, "/api/providers")
            let health = (listed["providers"] as? [[String: Any]])?.first { $0["name"] as? String == providers[0] }?["health"] as? [String: Any]
            #expect(health?["circuit_state"] as? String == "open")
            #expect((health?["last_error"] as? String)?.isEmpty == false)
            let callsBefore = try await primary.stats()["total"] as? Int ?? 0
            let second = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            _ = try await Fixture.waitForTerminal(client, team, second)
            #expect(try await calls(client, team, second).map { $0["provider"] as? String } == [providers[1]])
            #expect(try await primary.stats()["total"] as? Int == callsBefore, "an open circuit was called")
            let events = try await postgres.query(
                "SELECT count(*) AS n FROM audit_log WHERE action = 'provider.unhealthy' AND target = $1",
                [.text("provider=\(providers[0])")]
            )
            #expect(try events.first!.decode("n", as: Int.self) >= 1)

            // The provider recovers; after the open period (2 s here) one probe closes the circuit.
            try await primary.behave(#"{"mode":"ok"}"#)
            try await Task.sleep(for: .milliseconds(2200))
            let third = try #require(try await Fixture.submit(client, team).1["job_id"] as? String)
            _ = try await Fixture.waitForTerminal(client, team, third)
            #expect(try await calls(client, team, third).map { $0["provider"] as? String } == [providers[0]])
            let (_, after) = try await Fixture.adminCall(client, .get, "/api/providers")
            let closed = (after["providers"] as? [[String: Any]])?.first { $0["name"] as? String == providers[0] }?["health"] as? [String: Any]
            #expect(closed?["circuit_state"] as? String == "closed")
        }
    }

    @Test("Anthropic and OpenAI answers come back in one shape; tool calls too")
    func providerShapes() async throws {
        let mock = try await MockUpstream(name: "mock-shapes")
        defer { Task { await mock.stop() } }
        try await E2E.withAPI { client in
            let worker = try await ManagedProcess.worker("worker-shapes")
            defer { Task { await worker.stop() } }
            for kind in ["openai", "anthropic"] {
                let (team, _) = try await team(client, mocks: [(mock, kind)])
                let plain = try #require(
                    try await Fixture.submit(
                        client,
                        team,
                        extra: #","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello there"}]"#
                    ).1["job_id"] as? String
                )
                let job = try await Fixture.waitForTerminal(client, team, plain)
                #expect(job["status"] as? String == "completed", "\(kind)")
                let result = try #require(job["result"] as? [String: Any])
                #expect((result["content"] as? String)?.contains("Hello there") == true, "\(kind): \(result)")
                #expect(result["finish_reason"] as? String == "stop", "\(kind)")
                let usage = try #require(job["usage"] as? [String: Any])
                #expect((usage["prompt_tokens"] as? Int ?? 0) > 0 && (usage["completion_tokens"] as? Int ?? 0) > 0, "\(kind)")

                let tools =
                    #","tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"tool_choice":"auto""#
                let toolJob = try #require(try await Fixture.submit(client, team, extra: tools).1["job_id"] as? String)
                let called = try await Fixture.waitForTerminal(client, team, toolJob)
                let toolResult = try #require(called["result"] as? [String: Any])
                #expect(toolResult["finish_reason"] as? String == "tool_calls", "\(kind)")
                let toolCalls = try #require(toolResult["tool_calls"] as? [[String: Any]], "\(kind)")
                let function = try #require(toolCalls.first?["function"] as? [String: Any])
                #expect(function["name"] as? String == "get_weather", "\(kind)")
                #expect(
                    (function["arguments"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } != nil,
                    "\(kind): arguments are a JSON string"
                )
            }
        }
    }
}
