import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API

/// `GET /api/jobs/{job_id}/events`: status snapshots as server-sent events, resumable by their
/// ids, bounded per team (API.md, Streaming and events).
@Suite("Job events over SSE")
struct JobEventsTests {
    /// Short keep-alives, so the tests see them.
    static let settings = ["STREAM_KEEPALIVE_SECONDS": "0.3"]

    /// A team and one of its pending jobs (created without work).
    static func pendingJob(_ api: Caller) async throws -> (team: Caller.CreatedTeam, jobID: String) {
        let team = try await api.createTeam()
        let created = try await api.team(team.key, .post, "/api/jobs/create", #"{"team_id": "\#(team.id)", "job_type": "events"}"#)
        try #require(created.status == .accepted || created.status == .ok, "\(created.summary)")
        return (team, try #require(created.string("job_id")))
    }

    /// The events of a body: (id, event, data) each.
    static func events(_ text: String) -> [(id: String?, event: String?, data: [String: Any])] {
        text.components(separatedBy: "\n\n").compactMap { block in
            var id: String?
            var event: String?
            var data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data += line.dropFirst(6) }
            }
            guard !data.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else { return nil }
            return (id, event, object)
        }
    }

    static func run(_ overrides: [String: String] = [:], _ body: @escaping @Sendable (Caller) async throws -> Void) async throws {
        try await TestApp.test(settings.merging(overrides) { $1 }) { client in try await body(Caller(client: client)) }
    }

    @Test("a pending job: its status event; cancelled: the terminal event with the job, and the stream ends")
    func pendingThenCancelled() async throws {
        try await Self.run { api in
            let (team, jobID) = try await Self.pendingJob(api)
            let stream = Task { try await api.team(team.key, .get, "/api/jobs/\(jobID)/events") }
            // Five keep-alive periods: the stream must have sent one before the cancel ends it, even
            // when the whole suite keeps both cores busy and the request starts late (700 ms, two
            // periods, once was not enough).
            try await Task.sleep(for: .milliseconds(1500))
            let cancelled = try await api.team(team.key, .post, "/api/jobs/\(jobID)/cancel")
            #expect(cancelled.status == .ok, "\(cancelled.summary)")
            let response = try await stream.value
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            #expect(response.text.contains(ServerSentEvent.keepAlive))
            let events = Self.events(response.text)
            #expect(events.count == 2, "\(response.text)")
            #expect(events.first?.id == "pending.0.0.0")
            #expect(events.first?.event == "status")
            #expect(events.first?.data["status"] as? String == "pending")
            #expect(events.first?.data["job_id"] as? String == jobID)
            let progress = events.first?.data["progress"] as? [String: Any]
            #expect(TestResponse.int(progress?["calls_done"]) == 0)
            #expect(TestResponse.int(progress?["calls_planned"]) == 0)
            #expect(events.last?.id == "cancelled.0.0.0")
            #expect(events.last?.data["status"] as? String == "cancelled")
            #expect((events.last?.data["error"] as? [String: Any])?["code"] as? String == "cancelled")
            #expect(response.text.hasSuffix("\n\n"))
        }
    }

    @Test("Last-Event-ID of the current state: nothing but keep-alives until the state changes; of the terminal state: the stream ends at once")
    func resume() async throws {
        try await Self.run { api in
            let (team, jobID) = try await Self.pendingJob(api)
            var headers = HTTPFields()
            headers[Request.lastEventIDHeader] = "pending.0.0.0"
            let current = headers
            let stream = Task { try await api.team(team.key, .get, "/api/jobs/\(jobID)/events", headers: current) }
            try await Task.sleep(for: .milliseconds(800))
            _ = try await api.team(team.key, .post, "/api/jobs/\(jobID)/cancel")
            let response = try await stream.value
            let events = Self.events(response.text)
            #expect(events.map(\.id) == ["cancelled.0.0.0"], "\(response.text)")
            #expect(response.text.hasPrefix(ServerSentEvent.keepAlive))

            headers[Request.lastEventIDHeader] = "cancelled.0.0.0"
            let again = try await api.team(team.key, .get, "/api/jobs/\(jobID)/events", headers: headers)
            #expect(again.status == .ok)
            #expect(again.text.isEmpty, "\(again.text)")

            // A hostile id is only compared: the current snapshot is sent.
            headers[Request.lastEventIDHeader] = String(repeating: "x", count: 4000)
            let hostile = try await api.team(team.key, .get, "/api/jobs/\(jobID)/events", headers: headers)
            #expect(Self.events(hostile.text).map(\.id) == ["cancelled.0.0.0"])
        }
    }

    @Test("a foreign team's job: 403; an unknown job: 404; no key: 401")
    func refusals() async throws {
        try await Self.run { api in
            let (_, jobID) = try await Self.pendingJob(api)
            let other = try await api.createTeam()
            let foreign = try await api.team(other.key, .get, "/api/jobs/\(jobID)/events")
            #expect(foreign.status == .forbidden)
            #expect(foreign.detail == "Job does not belong to your team")
            let unknown = try await api.team(other.key, .get, "/api/jobs/\(UUID().uuidString.lowercased())/events")
            #expect(unknown.status == .notFound)
            #expect(unknown.detail == "Job not found")
            let garbage = try await api.team(other.key, .get, "/api/jobs/not-a-job/events")
            #expect(garbage.status == .notFound)
            #expect(try await api.send(.get, "/api/jobs/\(jobID)/events").status == .unauthorized)
        }
    }

    @Test("STREAMS_PER_TEAM=1: a second open stream of the team is a 429; another team's is not; the slot comes back")
    func perTeamBound() async throws {
        try await Self.run(["STREAMS_PER_TEAM": "1"]) { api in
            let (team, jobID) = try await Self.pendingJob(api)
            let first = Task { try await api.team(team.key, .get, "/api/jobs/\(jobID)/events") }
            try await Task.sleep(for: .milliseconds(500))
            let second = try await api.team(team.key, .get, "/api/jobs/\(jobID)/events")
            #expect(second.status == .tooManyRequests)
            #expect(second.detail == "Too many open streams for this team (limit 1)")
            #expect(second.headers[.retryAfter] != nil)

            let (otherTeam, otherJob) = try await Self.pendingJob(api)
            _ = try await api.team(otherTeam.key, .post, "/api/jobs/\(otherJob)/cancel")
            let other = try await api.team(otherTeam.key, .get, "/api/jobs/\(otherJob)/events")
            #expect(other.status == .ok)

            _ = try await api.team(team.key, .post, "/api/jobs/\(jobID)/cancel")
            #expect(try await first.value.status == .ok)
            let third = try await api.team(team.key, .get, "/api/jobs/\(jobID)/events")
            #expect(third.status == .ok, "\(third.summary)")
        }
    }
}
