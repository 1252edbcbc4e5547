import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Redis
import Shared
import Testing

@testable import API

/// `PUT /api/teams/{team_id}/limits` and the submit limits it sets (API.md "Batches, estimates,
/// limits, retention"): absent fields are kept, `null` clears, bounds are 422s naming the field;
/// over a submit limit every job-creating route answers 429 `Rate limit exceeded: <which>` with
/// `Retry-After`, after the key and suspension checks and before the body is read.
@Suite("Team limits: PUT /api/teams/{team_id}/limits and the submit limits")
struct TeamLimitsTests {
    static let fields = ["max_queued_jobs", "submits_per_second", "max_concurrent_jobs", "retention_days", "low_balance_threshold"]

    /// The five limits of an answer (`nil` for null), as numbers.
    static func limits(_ object: [String: Any]?) -> [String: Double?] {
        var out: [String: Double?] = [:]
        for field in fields {
            out.updateValue((object?[field] as? NSNumber)?.doubleValue, forKey: field)
        }
        return out
    }

    static func submit(_ team: Caller.CreatedTeam, group: String? = nil) -> String {
        if let group {
            return #"{"team_id": "\#(team.id)", "job_type": "t", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}]}"#
        }
        return #"{"team_id": "\#(team.id)", "job_type": "t"}"#
    }

    @Test("PUT sets the limits, keeps the fields it was not sent, clears the nulls; the team's answers show them")
    func setKeepClear() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let fresh = try await api.admin(.get, "/api/teams/\(team.id)")
            #expect(fresh.status == .ok)
            let freshLimits = try #require(fresh.json?["limits"] as? [String: Any], "\(fresh.summary)")
            #expect(Set(freshLimits.keys) == Set(Self.fields))
            #expect(Self.limits(freshLimits).values.allSatisfy { $0 == nil })

            let set = try await api.admin(
                .put,
                "/api/teams/\(team.id)/limits",
                #"{"max_queued_jobs": 10, "submits_per_second": 2.5, "max_concurrent_jobs": 3, "retention_days": 30, "low_balance_threshold": 50}"#
            )
            #expect(set.status == .ok, "\(set.summary)")
            #expect(set.string("team_id") == team.id)
            let all: [String: Double?] = [
                "max_queued_jobs": 10, "submits_per_second": 2.5, "max_concurrent_jobs": 3, "retention_days": 30, "low_balance_threshold": 50,
            ]
            #expect(Self.limits(set.json) == all)

            // Absent: kept. Null: cleared.
            let cleared = try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"retention_days": null, "max_queued_jobs": 20}"#)
            #expect(cleared.status == .ok, "\(cleared.summary)")
            var expected = all
            expected.updateValue(nil, forKey: "retention_days")
            expected["max_queued_jobs"] = 20
            #expect(Self.limits(cleared.json) == expected)
            #expect(cleared.json?.keys.contains("retention_days") == true, "a cleared limit is answered as null")
            let unchanged = try await api.admin(.put, "/api/teams/\(team.id)/limits", "{}")
            #expect(Self.limits(unchanged.json) == expected)

            let fetched = try await api.admin(.get, "/api/teams/\(team.id)")
            #expect(Self.limits(fetched.json?["limits"] as? [String: Any]) == expected)
            let listed = try await api.admin(.get, "/api/teams?organization_id=\(team.organization)")
            #expect(Self.limits(listed.objects("teams").first?["limits"] as? [String: Any]) == expected)
        }
    }

    @Test("types and bounds are 422s naming the field (the migration's CHECKs), and change nothing")
    func validation() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let path = "/api/teams/\(team.id)/limits"
            let cases: [(String, String)] = [
                (#"{"max_queued_jobs": 0}"#, "Field 'max_queued_jobs' must be between 1 and 10000000"),
                (#"{"max_queued_jobs": 10000001}"#, "Field 'max_queued_jobs' must be between 1 and 10000000"),
                (#"{"max_queued_jobs": "5"}"#, "Field 'max_queued_jobs' must be an integer"),
                (#"{"max_queued_jobs": 1.5}"#, "Field 'max_queued_jobs' must be an integer"),
                (#"{"submits_per_second": 0}"#, "Field 'submits_per_second' must be a number from 0.001 to 100000"),
                (#"{"submits_per_second": 0.0001}"#, "Field 'submits_per_second' must be a number from 0.001 to 100000"),
                (#"{"submits_per_second": -1}"#, "Field 'submits_per_second' must be a number from 0.001 to 100000"),
                (#"{"submits_per_second": 100000.5}"#, "Field 'submits_per_second' must be a number from 0.001 to 100000"),
                (#"{"submits_per_second": "5"}"#, "Field 'submits_per_second' must be a number"),
                (#"{"max_concurrent_jobs": 0}"#, "Field 'max_concurrent_jobs' must be between 1 and 100000"),
                (#"{"max_concurrent_jobs": 100001}"#, "Field 'max_concurrent_jobs' must be between 1 and 100000"),
                (#"{"retention_days": 0}"#, "Field 'retention_days' must be between 1 and 3650"),
                (#"{"retention_days": 3651}"#, "Field 'retention_days' must be between 1 and 3650"),
                (#"{"low_balance_threshold": -1}"#, "Field 'low_balance_threshold' must be an integer from 0 to 1000000000000000"),
                (#"{"low_balance_threshold": 1000000000000001}"#, "Field 'low_balance_threshold' must be an integer from 0 to 1000000000000000"),
                (#"{"low_balance_threshold": true}"#, "Field 'low_balance_threshold' must be an integer"),
                // One bad field refuses the whole change.
                (#"{"max_queued_jobs": 5, "retention_days": 0}"#, "Field 'retention_days' must be between 1 and 3650"),
                ("[]", "Request body must be a JSON object"),
            ]
            for (body, detail) in cases {
                let response = try await api.admin(.put, path, body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.summary)")
                #expect(response.detail == detail, "\(body)")
            }
            let notJSON = try await api.admin(.put, path, "{not json")
            #expect(notJSON.status == .badRequest)
            let fetched = try await api.admin(.get, "/api/teams/\(team.id)")
            #expect(Self.limits(fetched.json?["limits"] as? [String: Any]).values.allSatisfy { $0 == nil })
        }
    }

    @Test("an unknown team is a 404; a team key opens nothing; the change is audited")
    func notFoundAndAudited() async throws {
        try await Caller.run { api in
            let missing = Fixture.id("no-team")
            let response = try await api.admin(.put, "/api/teams/\(missing)/limits", #"{"max_queued_jobs": 5}"#)
            #expect(response.status == .notFound)
            #expect(response.detail == "Team '\(missing)' not found")

            let team = try await api.createTeam()
            let asTeam = try await api.team(team.key, .put, "/api/teams/\(team.id)/limits", #"{"max_queued_jobs": 5}"#)
            #expect(asTeam.status == .unauthorized)

            #expect(try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"max_queued_jobs": 5}"#).status == .ok)
            let audited = try await Database.int(
                "SELECT count(*) AS n FROM audit_log WHERE action = 'PUT /api/teams/{team_id}/limits' AND target = $1 AND outcome = 'success (200)'",
                [.text("team_id=\(team.id)")]
            )
            #expect(audited == 1)
        }
    }

    @Test("setting a low-balance threshold never alerts by itself: the alert starts given when the balance is already below it")
    func thresholdDoesNotAlert() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 100)
            func state() async throws -> (threshold: Int?, alerted: Bool) {
                try await Database.with { postgres in
                    let row = try #require(
                        try await postgres.query(
                            "SELECT low_balance_threshold, low_balance_alerted FROM credit_accounts WHERE team_id = $1",
                            [.text(team.id)]
                        ).first
                    )
                    return (try row.decodeIfPresent("low_balance_threshold", as: Int.self), try row.decode("low_balance_alerted", as: Bool.self))
                }
            }
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"low_balance_threshold": 500}"#).status == .ok)
            #expect(try await state() == (500, true))
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"low_balance_threshold": 10}"#).status == .ok)
            #expect(try await state() == (10, false))
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"low_balance_threshold": null}"#).status == .ok)
            #expect(try await state() == (nil, false))
            let alerts = try await Database.int(
                "SELECT count(*) AS n FROM audit_log WHERE action = 'credits.low' AND target = $1",
                [.text(team.id)]
            )
            #expect(alerts == 0)
        }
    }

    @Test("max_concurrent_jobs reaches the queue's caps at once; null removes the cap")
    func capReachesQueue() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let redis = RedisClient(configuration: try RedisConfiguration(url: TestApp.redisURL))
            defer { redis.shutdown() }
            let caps = RedisArgument(QueueKeys().caps)
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"max_concurrent_jobs": 3}"#).status == .ok)
            #expect(try await redis.send("HGET", caps, RedisArgument(team.id)).int == 3)
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"max_concurrent_jobs": null}"#).status == .ok)
            #expect(try await redis.send("HGET", caps, RedisArgument(team.id)).isNull)
        }
    }

    @Test("over submits_per_second: 429 with the limit's name and the bucket's Retry-After, before the body is read")
    func submitsPerSecond() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            // One token, then one every 1000 seconds.
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"submits_per_second": 0.001}"#).status == .ok)
            let first = try await api.team(team.key, .post, "/api/jobs/create", Self.submit(team))
            #expect(first.status == .ok, "\(first.summary)")
            for body in [Self.submit(team), "{not json", #"{"team_id": 5}"#] {
                let refused = try await api.team(team.key, .post, "/api/jobs/create", body)
                #expect(refused.status == .tooManyRequests, "\(body): \(refused.summary)")
                #expect(refused.detail == "Rate limit exceeded: submits_per_second")
                let retryAfter = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
                #expect((990...1000).contains(retryAfter), "Retry-After \(retryAfter)")
            }
            // Nothing else was created.
            #expect(try await Database.int("SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(team.id)]) == 1)
            // Cleared: submits go through again at once in this process.
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"submits_per_second": null}"#).status == .ok)
            #expect(try await api.team(team.key, .post, "/api/jobs/create", Self.submit(team)).status == .ok)
        }
    }

    @Test("every route that creates jobs checks the limits first: create (JSON and multipart), create-and-call, llm-call, batch and their streams")
    func everyRoute() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"submits_per_second": 0.001}"#).status == .ok)
            let container = try await api.team(team.key, .post, "/api/jobs/create", Self.submit(team))
            let jobID = try #require(container.string("job_id"), "\(container.summary)")
            var multipart = HTTPFields()
            multipart[.contentType] = "multipart/form-data; boundary=x"
            let routes: [(String, HTTPFields)] = [
                ("/api/jobs/create", [:]),
                ("/api/jobs/create", multipart),
                ("/api/jobs/create-and-call", [:]),
                ("/api/jobs/create-and-call-stream", [:]),
                ("/api/jobs/\(jobID)/llm-call", [:]),
                ("/api/jobs/\(jobID)/llm-call-stream", [:]),
                ("/api/jobs/batch", [:]),
            ]
            for (path, headers) in routes {
                let refused = try await api.team(team.key, .post, path, "{}", headers: headers)
                #expect(refused.status == .tooManyRequests, "\(path): \(refused.summary)")
                #expect(refused.detail == "Rate limit exceeded: submits_per_second", "\(path)")
                #expect(refused.headers[.retryAfter] != nil, "\(path)")
            }
        }
    }

    @Test("order of checks: a suspended team over its limit is a 403, a bad key a 401")
    func orderOfChecks() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"submits_per_second": 0.001}"#).status == .ok)
            #expect(try await api.team(team.key, .post, "/api/jobs/create", Self.submit(team)).status == .ok)
            #expect(try await api.team(team.key, .post, "/api/jobs/create", Self.submit(team)).status == .tooManyRequests)
            #expect(try await api.team("sk-not-a-key-\(UUID().uuidString)", .post, "/api/jobs/create", Self.submit(team)).status == .unauthorized)
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/suspend").status == .ok)
            let suspended = try await Fixture.eventually(within: .seconds(5)) {
                try await api.team(team.key, .post, "/api/jobs/create", Self.submit(team)).status == .forbidden
            }
            #expect(suspended)
            let refused = try await api.team(team.key, .post, "/api/jobs/create", Self.submit(team))
            #expect(refused.detail == "Team access is suspended. Please contact support.")
        }
    }

    @Test("over max_queued_jobs: 429 while the team's waiting jobs reach it, Retry-After 1; cleared, submits pass")
    func maxQueuedJobs() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 1000)
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"max_queued_jobs": 2}"#).status == .ok)
            for _ in 0..<2 {
                let accepted = try await api.team(team.key, .post, "/api/jobs/create", Self.submit(team, group: group))
                #expect(accepted.status == .accepted, "\(accepted.summary)")
            }
            let refused = try await api.team(team.key, .post, "/api/jobs/create", Self.submit(team, group: group))
            #expect(refused.status == .tooManyRequests, "\(refused.summary)")
            #expect(refused.detail == "Rate limit exceeded: max_queued_jobs")
            #expect(refused.headers[.retryAfter] == "1")
            // A job without work waits in no queue: refused too, since the check comes first.
            #expect(try await api.team(team.key, .post, "/api/jobs/create", Self.submit(team)).status == .tooManyRequests)
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"max_queued_jobs": null}"#).status == .ok)
            #expect(try await api.team(team.key, .post, "/api/jobs/create", Self.submit(team, group: group)).status == .accepted)
            // The test's jobs leave the shared queue.
            let ids = try await Database.with { postgres in
                try await postgres.query("SELECT job_id FROM jobs WHERE team_id = $1", [.text(team.id)]).map {
                    try $0.decode("job_id", as: UUID.self)
                }
            }
            let redis = RedisClient(configuration: try RedisConfiguration(url: TestApp.redisURL))
            defer { redis.shutdown() }
            try await RedisJobQueue(redis: redis).remove(ids, completed: [])
        }
    }
}
