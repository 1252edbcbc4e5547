import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API

/// Hostile input on issue 11's routes (webhook, limits, estimate, batch): text PostgreSQL cannot
/// store, numbers past any bound, bodies far over the limit, a client that leaves mid-body. Each
/// is a 4xx JSON answer that changes nothing, or — for the client that leaves — its place given back.
@Suite("Hostile input on the webhook, limits, estimate and batch routes")
struct NewRoutesHostileTests {
    @Test("U+0000, 1e308 and a 10 MB body: a 4xx with a detail, and nothing stored")
    func hostileBodies() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 100)
            let webhook = "/api/teams/\(team.id)/webhook"
            let limits = "/api/teams/\(team.id)/limits"
            let huge = #"{"url": ""# + String(repeating: "a", count: 10 * 1024 * 1024) + #""}"#
            let cases: [(admin: Bool, method: HTTPRequest.Method, path: String, body: String)] = [
                (false, .put, webhook, #"{"url": "https://a.example/\u0000", "events": ["job.completed"]}"#),
                (false, .put, webhook, #"{"url": "https://a.example/h", "events": ["job.completed\u0000"]}"#),
                (false, .put, webhook, #"{"url": "https://a.example/h", "events": 1e308}"#),
                (false, .put, webhook, huge),
                (true, .put, limits, #"{"max_queued_jobs": 1e308}"#),
                (true, .put, limits, #"{"submits_per_second": 1e308}"#),
                (true, .put, limits, #"{"low_balance_threshold": -1e308}"#),
                (true, .put, limits, huge),
                (false, .post, "/api/jobs/estimate", #"{"team_id": "\#(team.id)", "job_type": "t\u0000", "model": "\#(group)", "messages": []}"#),
                (
                    false, .post, "/api/jobs/estimate",
                    #"{"team_id": "\#(team.id)", "job_type": "t", "model": "\#(group)", "max_tokens": 1e308, "messages": [{"role": "user", "content": "x"}]}"#
                ),
                (false, .post, "/api/jobs/estimate", huge),
                (false, .post, "/api/jobs/batch", #"{"jobs": [], "all_or_nothing": 1e308}"#),
                (false, .post, "/api/jobs/batch", #"{"jobs": 1e308}"#),
            ]
            for (admin, method, path, body) in cases {
                let response = admin ? try await api.admin(method, path, body) : try await api.team(team.key, method, path, body)
                let label = "\(method) \(path) \(body.prefix(80))"
                #expect((400..<500).contains(Int(response.status.code)), "\(label): \(response.summary)")
                #expect(response.detail?.isEmpty == false, "\(label): \(response.summary)")
            }
            #expect(try await api.team(team.key, .get, webhook).status == .notFound, "no webhook was stored")
            let fetched = try await api.admin(.get, "/api/teams/\(team.id)")
            let stored = (fetched.json?["limits"] as? [String: Any] ?? [:]).values.filter { !($0 is NSNull) }
            #expect(stored.isEmpty, "limits were stored: \(stored)")
            #expect(try await BatchTests.jobCount(team.id) == 0)
        }
    }

    @Test("a batch client that disconnects mid-body gives its place back, and nothing is written")
    func disconnectGivesPlaceBack() async throws {
        try await TestApp.testLive(["BATCH_CONCURRENCY": "1"]) { client in
            let port = try #require(client.port)
            let api = Caller(client: client)
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 100)
            let body = BatchTests.batch([BatchTests.job(team.id, group)])
            var held: BatchBoundsTests.HeldRequest? = try BatchBoundsTests.HeldRequest(port: port)
            held?.send(BatchBoundsTests.head(team, length: body.utf8.count) + String(body.prefix(body.utf8.count / 2)))
            try await Task.sleep(for: .milliseconds(300))
            held = nil  // closes the socket
            var status: HTTPResponse.Status = .serviceUnavailable
            let deadline = ContinuousClock.now + .seconds(10)
            while status == .serviceUnavailable && ContinuousClock.now < deadline {
                status = try await api.team(team.key, .post, "/api/jobs/batch", body).status
                if status == .serviceUnavailable { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(status == .accepted, "the place of the client that left was never given back")
            #expect(try await BatchTests.jobCount(team.id) == 1, "only the second batch's job")
            try await BatchBoundsTests.dequeue(team.id)
        }
    }
}
