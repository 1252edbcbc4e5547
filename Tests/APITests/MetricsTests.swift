import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API

/// `GET /metrics` (API.md, Operations): Prometheus' text format, HTTP series labelled by route
/// templates, submits counted per team, failed authentications per kind. The registry is the
/// process's (swift-metrics bootstraps once), shared by suites running in parallel: every check
/// reads a series of its own (a unique team) or compares before and after.
@Suite("Metrics: /metrics, HTTP series by route template, submits and auth failures")
struct MetricsTests {
    /// The value of one series in an exposition, by its exact name and label text; 0 when absent.
    static func value(_ exposition: String, _ series: String) -> Double {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1)) ?? 0
        }
        return 0
    }

    static func scrape(_ api: Caller) async throws -> String {
        let response = try await api.send(.get, "/metrics")
        try #require(response.status == .ok, "\(response.summary)")
        #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
        return response.text
    }

    @Test("requests are counted by method, route template and status; /metrics asks no key")
    func httpCounter() async throws {
        try await Caller.run { api in
            let series = #"saas_http_requests_total{method="GET",route="/health",status="200"}"#
            let before = Self.value(try await Self.scrape(api), series)
            for _ in 0..<3 { try await api.send(.get, "/health") }
            let after = try await Self.scrape(api)
            #expect(Self.value(after, series) >= before + 3, "\(after.prefix(2000))")
            #expect(after.contains(#"saas_http_request_duration_seconds_bucket{method="GET",route="/health",status="200",le="0.001"}"#))
            #expect(after.contains(#"saas_http_request_duration_seconds_count{method="GET",route="/health",status="200"}"#))
        }
    }

    @Test("a job id or an unknown path never becomes a label: routes are templates, unknown paths are NotFound")
    func routeTemplates() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 100)
            let created = try await api.team(team.key, .post, "/api/jobs/create", BatchTests.job(team.id, group))
            #expect(created.status == .accepted, "\(created.summary)")
            let jobID = try #require(created.string("job_id"))
            let read = try await api.team(team.key, .get, "/api/jobs/\(jobID)")
            #expect(read.status == .ok)
            let missing = try await api.team(team.key, .get, "/api/jobs/\(UUID().uuidString.lowercased())")
            #expect(missing.status == .notFound)
            let probe = "probe-\(UUID().uuidString)"
            let unknown = try await api.send(.get, "/\(probe)/wp-login.php")
            #expect(unknown.status == .notFound)
            let odd = try await api.send(HTTPRequest.Method("BREW")!, "/health")
            #expect(odd.status.code >= 400)

            let exposition = try await Self.scrape(api)
            #expect(!exposition.contains(jobID), "a job id is a label")
            #expect(!exposition.contains(probe), "a path is a label")
            #expect(!exposition.contains("BREW"), "an unknown method is a label")
            #expect(!exposition.contains(team.key))
            #expect(
                exposition.contains(#"saas_http_requests_total{method="GET",route="/api/jobs/{job_id}",status="200"}"#),
                "\(exposition.prefix(3000))"
            )
            #expect(exposition.contains(#"saas_http_requests_total{method="GET",route="/api/jobs/{job_id}",status="404"}"#))
            #expect(exposition.contains(#"saas_http_requests_total{method="GET",route="NotFound",status="404"}"#))
            #expect(exposition.contains(#"saas_http_requests_total{method="POST",route="/api/jobs/create",status="202"}"#))
            // Every route label is a template or NotFound: never a path with an id in it.
            for line in exposition.split(separator: "\n") where line.hasPrefix("saas_http_requests_total{") {
                let route = line.split(separator: "route=\"").dropFirst().first?.split(separator: "\"").first.map(String.init) ?? ""
                #expect(route == "NotFound" || route.hasPrefix("/"), "\(line)")
                #expect(route.range(of: #"[0-9a-f]{8}-[0-9a-f]{4}-"#, options: .regularExpression) == nil, "\(line)")
            }
        }
    }

    @Test("saas_jobs_submitted_total counts a team's created jobs: single submits and a batch by its count; replays add nothing")
    func submitted() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 1000)
            let series = #"saas_jobs_submitted_total{team="\#(team.id)"}"#
            for _ in 0..<2 {
                let created = try await api.team(team.key, .post, "/api/jobs/create", BatchTests.job(team.id, group))
                #expect(created.status == .accepted, "\(created.summary)")
            }
            let jobs = (0..<5).map { _ in BatchTests.job(team.id, group) } + [BatchTests.job("not-\(team.id)", group)]
            let key = UUID().uuidString
            let batch = try await api.team(team.key, .post, "/api/jobs/batch", BatchTests.batch(jobs), headers: [.idempotencyKey: key])
            #expect(batch.status == .accepted, "\(batch.summary)")
            let replay = try await api.team(team.key, .post, "/api/jobs/batch", BatchTests.batch(jobs), headers: [.idempotencyKey: key])
            #expect(replay.status == .accepted, "\(replay.summary)")
            let exposition = try await Self.scrape(api)
            #expect(Self.value(exposition, series) == 7, "\(exposition.split(separator: "\n").filter { $0.contains(team.id) })")
        }
    }

    @Test("saas_jobs_finished_total counts what the API ends: a cancel by the team or an admin, a step-by-step complete once")
    func finishedByTheAPI() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 1000)
            let cancelled = #"saas_jobs_finished_total{team="\#(team.id)",status="cancelled"}"#
            let failed = #"saas_jobs_finished_total{team="\#(team.id)",status="failed"}"#
            var jobs: [String] = []
            for _ in 0..<2 {
                let created = try await api.team(team.key, .post, "/api/jobs/create", BatchTests.job(team.id, group))
                #expect(created.status == .accepted, "\(created.summary)")
                jobs.append(try #require(created.string("job_id")))
            }
            #expect(try await api.team(team.key, .post, "/api/jobs/\(jobs[0])/cancel").status == .ok)
            #expect(try await api.admin(.post, "/api/admin/jobs/\(jobs[1])/cancel").status == .ok)
            let container = try await api.team(team.key, .post, "/api/jobs/create", #"{"team_id": "\#(team.id)", "job_type": "steps"}"#)
            let containerID = try #require(container.string("job_id"))
            for _ in 0..<2 {
                let completed = try await api.team(
                    team.key,
                    .post,
                    "/api/jobs/\(containerID)/complete",
                    #"{"status": "failed", "error_message": "gave up"}"#
                )
                #expect(completed.status == .ok, "\(completed.summary)")
            }
            let exposition = try await Self.scrape(api)
            let lines = exposition.split(separator: "\n").filter { $0.contains(team.id) }
            #expect(Self.value(exposition, cancelled) == 2, "\(lines)")
            #expect(Self.value(exposition, failed) == 1, "a complete repeated counts nothing more: \(lines)")
        }
    }

    @Test("failed authentications are counted by kind, a bounded set")
    func authFailures() async throws {
        try await Caller.run { api in
            let kinds = ["missing_admin_key", "invalid_admin_key", "missing_bearer", "invalid_key", "suspended"]
            let before = try await Self.scrape(api)
            let suspended = try await api.createTeam()
            let suspend = try await api.admin(.put, "/api/teams/\(suspended.id)/suspend")
            #expect(suspend.status == .ok, "\(suspend.summary)")
            try await api.send(.get, "/api/organizations")
            try await api.send(.get, "/api/organizations", headers: [.xAdminKey: "sk-admin-wrong"])
            try await api.send(.get, "/api/jobs/\(UUID().uuidString)")
            try await api.team("sk-not-a-key", .get, "/api/jobs/\(UUID().uuidString)")
            let refused = try await api.team(suspended.key, .get, "/api/teams/\(suspended.id)/jobs")
            #expect(refused.status == .forbidden, "\(refused.summary)")
            let after = try await Self.scrape(api)
            for kind in kinds {
                let series = #"saas_auth_failures_total{kind="\#(kind)"}"#
                #expect(Self.value(after, series) >= Self.value(before, series) + 1, "\(kind)")
            }
            let labelled = after.split(separator: "\n").filter { $0.hasPrefix("saas_auth_failures_total{") }
            #expect(labelled.allSatisfy { line in kinds.contains { line.contains(#"kind="\#($0)""#) } }, "\(labelled)")
        }
    }

    @Test("METRICS_ENABLED=false: /metrics answers 404 with a detail")
    func disabled() async throws {
        try await TestApp.test(["METRICS_ENABLED": "false"]) { client in
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .notFound)
            #expect(response.detail == "Metrics are disabled (METRICS_ENABLED=false)")
        }
    }
}
