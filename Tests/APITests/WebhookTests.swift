import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Shared
import Testing

@testable import API

/// `/api/teams/{team_id}/webhook…` (API.md "Webhooks") and the submit's `webhook` opt-out, through
/// the in-process application.
@Suite("Webhooks API")
struct WebhookTests {
    static let put = #"{"url": "https://hooks.example.com/llm", "events": ["job.completed", "credits.low"]}"#

    @Test("PUT sets the endpoint and shows its secret once; GET shows it without; DELETE removes it")
    func lifecycle() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let path = "/api/teams/\(team.id)/webhook"
            let missing = try await api.team(team.key, .get, path)
            #expect(missing.status == .notFound, "\(missing.summary)")
            #expect(missing.detail == "Webhook not configured")

            let created = try await api.team(team.key, .put, path, Self.put)
            try #require(created.status == .ok, "\(created.summary)")
            #expect(created.string("team_id") == team.id)
            #expect(created.string("url") == "https://hooks.example.com/llm")
            #expect(created.json?["events"] as? [String] == ["job.completed", "credits.low"])
            #expect(Fixture.isTimestamp(created.json?["created_at"]))
            #expect(Fixture.isTimestamp(created.json?["updated_at"]))
            let secret = try #require(created.string("secret"))
            #expect(secret.hasPrefix("whsec_"))
            #expect(WebhookSecret.key(of: secret)?.count == 32)

            let shown = try await api.team(team.key, .get, path)
            #expect(shown.status == .ok, "\(shown.summary)")
            #expect(shown.json?["secret"] == nil)
            #expect(!shown.text.contains(secret))
            #expect(shown.string("url") == "https://hooks.example.com/llm")
            #expect(shown.json?["events"] as? [String] == ["job.completed", "credits.low"])

            // The stored secret is sealed, never the text.
            let sealed = try await Database.with { postgres in
                try await postgres.query("SELECT secret_encrypted FROM webhook_endpoints WHERE team_id = $1", [.text(team.id)])
                    .first?.decode("secret_encrypted", as: PostgresBytes.self).bytes
            }
            let bytes = try #require(sealed)
            #expect(!String(decoding: bytes, as: UTF8.self).contains(secret))

            // A new PUT replaces the URL and events and rotates the secret.
            let replaced = try await api.team(
                team.key,
                .put,
                path,
                #"{"url": "https://other.example.com/hook", "events": ["job.failed"]}"#
            )
            try #require(replaced.status == .ok, "\(replaced.summary)")
            let rotated = try #require(replaced.string("secret"))
            #expect(rotated != secret)
            #expect(replaced.string("url") == "https://other.example.com/hook")
            #expect(replaced.json?["events"] as? [String] == ["job.failed"])
            #expect(replaced.string("created_at") == created.string("created_at"))

            let deleted = try await api.team(team.key, .delete, path)
            #expect(deleted.status == .ok, "\(deleted.summary)")
            #expect(deleted.string("team_id") == team.id)
            #expect(deleted.json?["deleted"] as? Bool == true)
            let again = try await api.team(team.key, .delete, path)
            #expect(again.status == .notFound, "\(again.summary)")
            #expect(again.detail == "Webhook not configured")
            #expect(try await api.team(team.key, .get, path).status == .notFound)
        }
    }

    @Test("http to a loopback host is allowed outside production")
    func loopbackOutsideProduction() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let response = try await api.team(
                team.key,
                .put,
                "/api/teams/\(team.id)/webhook",
                #"{"url": "http://127.0.0.1:8123/hook", "events": ["job.expired"]}"#
            )
            #expect(response.status == .ok, "\(response.summary)")
        }
    }

    @Test("every invalid body is a 422 naming its field, and stores nothing")
    func validation() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let path = "/api/teams/\(team.id)/webhook"
            let url = #""url": "https://hooks.example.com/x""#
            let cases: [(String, String)] = [
                (#"{"events": ["job.completed"]}"#, "Field 'url' is required"),
                (#"{\#(url)}"#, "Field 'events' is required"),
                (#"{"url": 5, "events": ["job.completed"]}"#, "Field 'url' must be a string"),
                (#"{\#(url), "events": "job.completed"}"#, "Field 'events' must be an array"),
                (#"{\#(url), "events": [1]}"#, "Field 'events[0]' must be a string"),
                (#"{\#(url), "events": []}"#, "Field 'events' must hold at least one event"),
                (
                    #"{\#(url), "events": ["job.completed", "job.started"]}"#,
                    "Field 'events' must hold only job.completed, job.failed, job.cancelled, job.expired, credits.low"
                ),
                (#"{\#(url), "events": ["job.failed", "job.failed"]}"#, "Field 'events' must not name 'job.failed' twice"),
                (
                    #"{"url": "ftp://hooks.example.com/x", "events": ["job.failed"]}"#,
                    "Field 'url' must be an absolute http(s) URL: the scheme must be https or http"
                ),
                (#"{"url": "hooks.example.com/x", "events": ["job.failed"]}"#, "Field 'url' must be an absolute http(s) URL: it cannot be parsed"),
                (
                    #"{"url": "https://user:pw@hooks.example.com/x", "events": ["job.failed"]}"#,
                    "Field 'url' must be an absolute http(s) URL: it must not carry a user name or password"
                ),
                (
                    #"{"url": "http://hooks.example.com/x", "events": ["job.failed"]}"#,
                    "Field 'url' must use https (http is allowed only to a loopback host outside production)"
                ),
                (
                    #"{"url": "https://hooks.example.com/\#(String(repeating: "a", count: 2_050))", "events": ["job.failed"]}"#,
                    "Field 'url' must be an absolute http(s) URL: it is longer than 2048 characters"
                ),
            ]
            for (body, detail) in cases {
                let response = try await api.team(team.key, .put, path, body)
                #expect(response.status == .unprocessableContent, "\(body.prefix(100)): \(response.summary)")
                #expect(response.detail == detail, "\(body.prefix(100)): \(response.summary)")
            }
            #expect(try await Database.int("SELECT count(*) AS n FROM webhook_endpoints WHERE team_id = $1", [.text(team.id)]) == 0)
            // Unknown fields are ignored, as everywhere else.
            let extra = try await api.team(team.key, .put, path, #"{\#(url), "events": ["job.failed"], "color": "blue"}"#)
            #expect(extra.status == .ok, "\(extra.summary)")
        }
    }

    @Test("a team key reaches only its own team's webhook: 403 for another's")
    func foreignTeam() async throws {
        try await Caller.run { api in
            let mine = try await api.createTeam()
            let other = try await api.createTeam()
            let path = "/api/teams/\(other.id)/webhook"
            for (method, uri, body) in [
                (HTTPRequest.Method.put, path, Self.put), (.get, path, nil), (.delete, path, nil), (.get, path + "/deliveries", nil),
            ] {
                let response = try await api.team(mine.key, method, uri, body)
                #expect(response.status == .forbidden, "\(method) \(uri): \(response.summary)")
                #expect(response.detail == "Cannot access webhook for a different team")
            }
            #expect(try await Database.int("SELECT count(*) AS n FROM webhook_endpoints WHERE team_id = $1", [.text(other.id)]) == 0)
            let unauthenticated = try await api.send(.get, path)
            #expect(unauthenticated.status == .unauthorized)
        }
    }

    @Test("the admin key manages any team's webhook; an unknown team is its 404")
    func adminPath() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let path = "/api/teams/\(team.id)/webhook"
            let created = try await api.admin(.put, path, Self.put)
            #expect(created.status == .ok, "\(created.summary)")
            #expect(created.string("secret")?.hasPrefix("whsec_") == true)
            #expect(try await api.team(team.key, .get, path).status == .ok)
            #expect(try await api.admin(.get, path).status == .ok)
            let deliveries = try await api.admin(.get, path + "/deliveries")
            #expect(deliveries.status == .ok, "\(deliveries.summary)")
            #expect(try await api.admin(.delete, path).status == .ok)

            let ghost = Fixture.id("team")
            let ghostPath = "/api/teams/\(ghost)/webhook"
            for (method, uri, body) in [
                (HTTPRequest.Method.put, ghostPath, Self.put), (.get, ghostPath, nil), (.delete, ghostPath, nil),
                (.get, ghostPath + "/deliveries", nil),
            ] {
                let response = try await api.admin(method, uri, body)
                #expect(response.status == .notFound, "\(method) \(uri): \(response.summary)")
                #expect(response.detail == "Team '\(ghost)' not found")
            }
        }
    }

    @Test("deliveries list the team's events newest first, with a cursor")
    func deliveries() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let path = "/api/teams/\(team.id)/webhook"
            let empty = try await api.team(team.key, .get, path + "/deliveries")
            #expect(empty.status == .ok, "\(empty.summary)")
            #expect(empty.objects("deliveries").isEmpty)
            #expect(empty.isNull("next_cursor"))
            #expect(empty.json?.keys.contains("next_cursor") == true)

            #expect(try await api.team(team.key, .put, path, #"{"url": "https://h.example.com/", "events": ["credits.low"]}"#).status == .ok)
            // Three events, written as the trigger writes them.
            try await Database.with { postgres in
                for i in 0..<3 {
                    try await postgres.query(
                        """
                        INSERT INTO webhook_deliveries (team_id, event, payload, created_at)
                        VALUES ($1, 'credits.low', '{"type": "credits.low"}', now() - make_interval(secs => $2))
                        """,
                        [.text(team.id), .int(10 - i)]
                    )
                }
                try await postgres.query(
                    """
                    UPDATE webhook_deliveries SET status = 'delivered', attempts = 1, last_status_code = 204, delivered_at = now()
                    WHERE delivery_id = (SELECT delivery_id FROM webhook_deliveries WHERE team_id = $1 ORDER BY created_at LIMIT 1)
                    """,
                    [.text(team.id)]
                )
            }
            let (rows, pages) = try await api.walk(path + "/deliveries", key: "deliveries", limit: 2, headers: [.authorization: "Bearer \(team.key)"])
            #expect(pages == 2)
            #expect(rows.count == 3)
            let times = rows.compactMap { $0["created_at"] as? String }
            #expect(times == times.sorted(by: >))
            let oldest = try #require(rows.last)
            #expect(oldest["status"] as? String == "delivered")
            #expect(TestResponse.int(oldest["attempts"]) == 1)
            #expect(TestResponse.int(oldest["last_status_code"]) == 204)
            #expect(Fixture.isTimestamp(oldest["delivered_at"]))
            #expect(oldest["next_attempt_at"] is NSNull)
            #expect(oldest["job_id"] is NSNull)
            #expect(oldest["last_error"] is NSNull)
            let newest = try #require(rows.first)
            #expect(newest["status"] as? String == "pending")
            #expect(newest["event"] as? String == "credits.low")
            #expect(Fixture.isTimestamp(newest["next_attempt_at"]))
            #expect((newest["delivery_id"] as? String).flatMap(UUID.init(uuidString:)) != nil)
            #expect(newest["payload"] == nil)

            let badCursor = try await api.team(team.key, .get, path + "/deliveries?cursor=%%%")
            #expect(badCursor.status == .unprocessableContent, "\(badCursor.summary)")
            let badLimit = try await api.team(team.key, .get, path + "/deliveries?limit=0")
            #expect(badLimit.status == .unprocessableContent, "\(badLimit.summary)")
        }
    }

    @Test("production refuses a private, loopback or plain-http URL and stores nothing")
    func productionRefusesPrivateTargets() async throws {
        let team = try await TestApp.test { client in try await Caller(client: client).createTeam() }
        let production = [
            "ENVIRONMENT": "production", "MASTER_KEY": "sk-admin-" + String(repeating: "p", count: 40),
            "PROVIDER_KEY_SECRET": Data((0..<32).map { UInt8($0) }).base64EncodedString(),
        ]
        try await TestApp.test(production) { client in
            let api = Caller(client: client)
            let path = "/api/teams/\(team.id)/webhook"
            let refusals: [(String, String)] = [
                (
                    "https://10.0.0.8/hook",
                    "Field 'url' must reach only public addresses; its host is or resolves to a private, loopback or link-local one"
                ),
                (
                    "https://169.254.169.254/latest",
                    "Field 'url' must reach only public addresses; its host is or resolves to a private, loopback or link-local one"
                ),
                (
                    "https://[::ffff:192.168.1.1]/",
                    "Field 'url' must reach only public addresses; its host is or resolves to a private, loopback or link-local one"
                ),
                (
                    "https://localhost/hook",
                    "Field 'url' must reach only public addresses; its host is or resolves to a private, loopback or link-local one"
                ),
                ("http://127.0.0.1:8123/hook", "Field 'url' must use https (http is allowed only to a loopback host outside production)"),
            ]
            for (url, detail) in refusals {
                let response = try await api.team(team.key, .put, path, #"{"url": "\#(url)", "events": ["job.completed"]}"#)
                #expect(response.status == .unprocessableContent, "\(url): \(response.summary)")
                #expect(response.detail == detail, "\(url): \(response.summary)")
            }
            #expect(try await Database.int("SELECT count(*) AS n FROM webhook_endpoints WHERE team_id = $1", [.text(team.id)]) == 0)
            // A public literal needs no lookup and is accepted.
            let accepted = try await api.team(team.key, .put, path, #"{"url": "https://93.184.216.34/hook", "events": ["job.completed"]}"#)
            #expect(accepted.status == .ok, "\(accepted.summary)")
        }
    }

    @Test("a submit's webhook: false is stored on the job (JSON and multipart); a wrong type is a 422")
    func submitOptOut() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 10_000)
            func body(_ webhook: String?) -> String {
                let field = webhook.map { #", "webhook": \#($0)"# } ?? ""
                return
                    #"{"team_id": "\#(team.id)", "job_type": "chat", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}]\#(field)}"#
            }
            func stored(_ response: TestResponse) async throws -> Bool? {
                let id = try #require(response.string("job_id").flatMap(UUID.init(uuidString:)), "\(response.summary)")
                return try await Database.with { postgres in
                    try await postgres.query("SELECT webhook FROM jobs WHERE job_id = $1", [.uuid(id)]).first?.decode("webhook", as: Bool.self)
                }
            }
            let optedOut = try await api.team(team.key, .post, "/api/jobs/create", body("false"))
            #expect(optedOut.status == .accepted, "\(optedOut.summary)")
            #expect(try await stored(optedOut) == false)
            let optedIn = try await api.team(team.key, .post, "/api/jobs/create", body("true"))
            #expect(try await stored(optedIn) == true)
            let absent = try await api.team(team.key, .post, "/api/jobs/create", body(nil))
            #expect(try await stored(absent) == true)

            for wrong in [#""no""#, "0", "null"] {
                let response = try await api.team(team.key, .post, "/api/jobs/create", body(wrong))
                if wrong == "null" {
                    // null is absent, as for every optional field.
                    #expect(response.status == .accepted, "\(response.summary)")
                } else {
                    #expect(response.status == .unprocessableContent, "\(wrong): \(response.summary)")
                    #expect(response.detail == "Field 'webhook' must be a boolean", "\(wrong): \(response.summary)")
                }
            }

            let job = #"{"team_id": "\#(team.id)", "job_type": "doc", "model": "\#(group)", "webhook": false}"#
            let multipart = [
                "--b\r\nContent-Disposition: form-data; name=\"job\"\r\nContent-Type: application/json\r\n\r\n\(job)\r\n",
                "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n",
                "--b--\r\n",
            ].joined()
            let uploaded = try await api.team(
                team.key,
                .post,
                "/api/jobs/create",
                multipart,
                headers: [.contentType: "multipart/form-data; boundary=b"]
            )
            #expect(uploaded.status == .accepted, "\(uploaded.summary)")
            #expect(try await stored(uploaded) == false)
        }
    }
}
