import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Shared
import Testing

@testable import API

@Suite("Authentication: admin and team keys, tenancy, suspension, rotation, keys at rest")
struct AuthTests {
    static let missingAdmin = "Missing X-Admin-Key header. Admin authentication required."
    static let invalidAdmin = "Invalid admin API key"
    static let missingTeam = "Missing Authorization header. Expected: 'Authorization: Bearer sk-...'"
    static let invalidTeam = "Invalid API key"
    static let suspended = "Team access is suspended. Please contact support."

    /// One request to every admin endpoint (bodies do not matter: authentication comes first).
    static let adminEndpoints: [(HTTPRequest.Method, String)] = [
        (.post, "/api/organizations/create"), (.get, "/api/organizations"), (.get, "/api/organizations/x"),
        (.get, "/api/organizations/x/teams"), (.get, "/api/organizations/x/usage?period=2026-01"),
        (.post, "/api/teams/create"), (.get, "/api/teams"), (.get, "/api/teams/x"), (.put, "/api/teams/x/model-groups"),
        (.put, "/api/teams/x/suspend"), (.put, "/api/teams/x/resume"), (.post, "/api/teams/x/rotate-key"),
        (.post, "/api/model-groups/create"), (.get, "/api/model-groups"), (.get, "/api/model-groups/x"),
        (.put, "/api/model-groups/x/models"), (.delete, "/api/model-groups/x"),
        (.post, "/api/providers/create"), (.get, "/api/providers"), (.get, "/api/providers/x"), (.put, "/api/providers/x"),
        (.delete, "/api/providers/x"),
        (.post, "/api/credits/teams/x/add"), (.post, "/api/credits/teams/x/adjust"), (.patch, "/api/credits/teams/x/budget-mode"),
        (.get, "/api/admin/audit"),
    ]

    @Test("admin endpoints: a missing or wrong X-Admin-Key is a 401 with the exact detail")
    func adminKeyRequired() async throws {
        try await Caller.run { api in
            for (method, path) in Self.adminEndpoints {
                let missing = try await api.send(method, path, body: "{}")
                #expect(missing.status == .unauthorized, "\(method) \(path): \(missing.summary)")
                #expect(missing.detail == Self.missingAdmin, "\(method) \(path)")
                let empty = try await api.send(method, path, headers: [.xAdminKey: ""], body: "{}")
                #expect(empty.status == .unauthorized)
                #expect(empty.detail == Self.missingAdmin, "\(method) \(path)")
                let wrong = try await api.send(method, path, headers: [.xAdminKey: Fixture.adminKey + "x"], body: "{}")
                #expect(wrong.status == .unauthorized, "\(method) \(path): \(wrong.summary)")
                #expect(wrong.detail == Self.invalidAdmin, "\(method) \(path)")
                #expect(wrong.headers[.contentType]?.hasPrefix("application/json") == true)
            }
        }
    }

    @Test("a refused admin request changes nothing")
    func refusedAdminChangesNothing() async throws {
        try await Caller.run { api in
            let id = Fixture.id("org")
            let body = #"{"organization_id": "\#(id)", "name": "x"}"#
            _ = try await api.send(.post, "/api/organizations/create", headers: [.xAdminKey: "sk-not-the-admin-key-000000000000000"], body: body)
            _ = try await api.send(.post, "/api/organizations/create", body: body)
            #expect(try await api.admin(.get, "/api/organizations/\(id)").status == .notFound)

            let team = try await api.createTeam(credits: 10)
            _ = try await api.send(.post, "/api/credits/teams/\(team.id)/add", headers: [.xAdminKey: "wrong"], body: #"{"credits": 5}"#)
            _ = try await api.team(team.key, .post, "/api/credits/teams/\(team.id)/add", #"{"credits": 5}"#)
            #expect(try await api.remaining(team.id) == 10)
        }
    }

    @Test("team endpoints: a missing, malformed or unknown key is a 401 with the exact detail")
    func teamKeyRequired() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let paths = [
                "/api/me", "/api/teams/\(team.id)/usage?period=2026-01", "/api/credits/teams/\(team.id)/balance",
                "/api/credits/teams/\(team.id)/transactions",
            ]
            for path in paths {
                let missing = try await api.send(.get, "\(path)")
                #expect(missing.status == .unauthorized, "\(path): \(missing.summary)")
                #expect(missing.detail == Self.missingTeam, "\(path)")
                for header in ["", "Basic \(team.key)", "Bearer", team.key] {
                    let response = try await api.send(.get, path, headers: [.authorization: header])
                    #expect(response.status == .unauthorized, "\(path) '\(header.prefix(10))': \(response.summary)")
                    #expect(response.detail == Self.missingTeam, "\(path) '\(header.prefix(10))'")
                }
                let forged = "sk-" + String(repeating: "A", count: 43)
                for key in [
                    "sk-short", forged, team.key + "x", String(team.key.dropLast()), "sk-\(UUID().uuidString)-\(UUID().uuidString)",
                    "not-a-key-at-all-\(UUID().uuidString)",
                ] {
                    let response = try await api.team(key, .get, "\(path)")
                    #expect(response.status == .unauthorized, "\(path): \(response.summary)")
                    #expect(response.detail == Self.invalidTeam, "\(path)")
                }
                // The scheme is case-insensitive; the right key opens the door.
                let ok = try await api.send(.get, path, headers: [.authorization: "bearer \(team.key)"])
                #expect(ok.status == .ok, "\(path): \(ok.summary)")
            }
        }
    }

    @Test("a team key never opens an admin endpoint; the admin key is not a team key")
    func wrongKind() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            // A team key where the admin key goes.
            for (method, path) in Self.adminEndpoints {
                let response = try await api.send(method, path, headers: [.xAdminKey: team.key], body: "{}")
                #expect(response.status == .unauthorized, "\(method) \(path): \(response.summary)")
                #expect(response.detail == Self.invalidAdmin, "\(method) \(path)")
            }
            // A team key as a bearer on admin routes: still admin authentication that fails.
            let asBearer = try await api.team(team.key, .get, "/api/teams/\(team.id)")
            #expect(asBearer.status == .unauthorized)
            #expect(asBearer.detail == Self.missingAdmin)
            let addAsTeam = try await api.team(team.key, .post, "/api/credits/teams/\(team.id)/add", #"{"credits": 1000}"#)
            #expect(addAsTeam.status == .unauthorized)
            #expect(addAsTeam.detail == Self.missingAdmin)
            // The team's own read routes with the team key in X-Admin-Key.
            let balance = try await api.send(.get, "/api/credits/teams/\(team.id)/balance", headers: [.xAdminKey: team.key])
            #expect(balance.status == .unauthorized)
            #expect(balance.detail == Self.invalidAdmin)

            // The admin key as a bearer.
            for path in [
                "/api/me", "/api/credits/teams/\(team.id)/balance", "/api/credits/teams/\(team.id)/transactions",
                "/api/teams/\(team.id)/usage?period=2026-01",
            ] {
                let response = try await api.team(Fixture.adminKey, .get, "\(path)")
                #expect(response.status == .unauthorized, "\(path): \(response.summary)")
                #expect(response.detail == Self.invalidTeam, "\(path)")
            }
            // /api/me is a team route only: the admin key in its own header does not open it.
            let meAsAdmin = try await api.admin(.get, "/api/me")
            #expect(meAsAdmin.status == .unauthorized)
            #expect(meAsAdmin.detail == Self.missingTeam)
        }
    }

    @Test("the admin key reads any team's balance, ledger and usage")
    func adminReadsTeamRoutes() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 9)
            let balance = try await api.admin(.get, "/api/credits/teams/\(team.id)/balance")
            #expect(balance.status == .ok)
            #expect(balance.int("credits_remaining") == 9)
            #expect(try await api.admin(.get, "/api/credits/teams/\(team.id)/transactions").status == .ok)
            #expect(try await api.admin(.get, "/api/teams/\(team.id)/usage?period=2026-01").status == .ok)
        }
    }

    @Test("a team touches only its own balance, ledger and usage: 403 with the exact detail")
    func crossTeam() async throws {
        try await Caller.run { api in
            let mine = try await api.createTeam()
            let theirs = try await api.createTeam(organization: mine.organization)
            let cases = [
                ("/api/credits/teams/\(theirs.id)/balance", "Cannot access credit balance for a different team"),
                ("/api/credits/teams/\(theirs.id)/transactions", "Cannot access credit transactions for a different team"),
                ("/api/teams/\(theirs.id)/usage?period=\(Fixture.currentMonth)", "Cannot access usage data for a different team"),
                // A team that does not exist is somebody else's too.
                ("/api/credits/teams/\(Fixture.id("nobody"))/balance", "Cannot access credit balance for a different team"),
            ]
            for (path, detail) in cases {
                let response = try await api.team(mine.key, .get, "\(path)")
                #expect(response.status == .forbidden, "\(path): \(response.summary)")
                #expect(response.detail == detail, "\(path)")
            }
            // Their own routes work for each.
            #expect(try await api.team(theirs.key, .get, "/api/credits/teams/\(theirs.id)/balance").status == .ok)
            #expect(try await api.team(mine.key, .get, "/api/credits/teams/\(mine.id)/balance").status == .ok)
        }
    }

    @Test("suspension refuses the team's key within a second; resuming lets it back in")
    func suspendAndResume() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            #expect(try await api.team(team.key, .get, "/api/me").status == .ok)  // warms the key cache

            let suspendedAt = ContinuousClock.now
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/suspend").status == .ok)
            let refused = try await Fixture.eventually(within: .milliseconds(1200), every: .milliseconds(50)) {
                try await api.team(team.key, .get, "/api/me").status == .forbidden
            }
            #expect(refused, "still admitted \(ContinuousClock.now - suspendedAt) after suspension")
            for path in [
                "/api/me", "/api/credits/teams/\(team.id)/balance", "/api/credits/teams/\(team.id)/transactions",
                "/api/teams/\(team.id)/usage?period=\(Fixture.currentMonth)",
            ] {
                let response = try await api.team(team.key, .get, "\(path)")
                #expect(response.status == .forbidden, "\(path): \(response.summary)")
                #expect(response.detail == Self.suspended, "\(path)")
            }
            // Suspension comes before anything about the request.
            let foreign = try await api.team(team.key, .get, "/api/credits/teams/\(Fixture.id("other"))/balance")
            #expect(foreign.detail == Self.suspended)
            // The admin still sees the team.
            #expect(try await api.admin(.get, "/api/credits/teams/\(team.id)/balance").status == .ok)

            #expect(try await api.admin(.put, "/api/teams/\(team.id)/resume").status == .ok)
            let admitted = try await Fixture.eventually(within: .milliseconds(1200), every: .milliseconds(50)) {
                try await api.team(team.key, .get, "/api/me").status == .ok
            }
            #expect(admitted)
            #expect(try await api.team(team.key, .get, "/api/me").string("status") == "active")
        }
    }

    @Test("suspension and rotation made through one API process reach another within a second")
    func otherProcess() async throws {
        try await Caller.run { first in
            try await TestApp.test { client in
                let second = Caller(client: client)
                let team = try await first.createTeam()
                // The second process has the key in its cache.
                #expect(try await second.team(team.key, .get, "/api/me").status == .ok)
                #expect(try await first.admin(.put, "/api/teams/\(team.id)/suspend").status == .ok)
                let refused = try await Fixture.eventually(within: .milliseconds(1200), every: .milliseconds(50)) {
                    try await second.team(team.key, .get, "/api/me").detail == Self.suspended
                }
                #expect(refused, "the other process still admits a suspended team")
                #expect(try await first.admin(.put, "/api/teams/\(team.id)/resume").status == .ok)
                let admitted = try await Fixture.eventually(within: .milliseconds(1200), every: .milliseconds(50)) {
                    try await second.team(team.key, .get, "/api/me").status == .ok
                }
                #expect(admitted)

                let rotated = try await first.admin(.post, "/api/teams/\(team.id)/rotate-key")
                let newKey = try #require(rotated.string("virtual_key"))
                let revoked = try await Fixture.eventually(within: .milliseconds(1200), every: .milliseconds(50)) {
                    try await second.team(team.key, .get, "/api/me").status == .unauthorized
                }
                #expect(revoked, "the other process still admits a rotated-out key")
                #expect(try await second.team(newKey, .get, "/api/me").status == .ok)
            }
        }
    }

    @Test("rotation without a grace period: the old key is refused within a second, the new one works at once")
    func rotateWithoutGrace() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            #expect(try await api.team(team.key, .get, "/api/me").status == .ok)
            let rotated = try await api.admin(.post, "/api/teams/\(team.id)/rotate-key", #"{"grace_seconds": 0}"#)
            let newKey = try #require(rotated.string("virtual_key"))
            #expect(try await api.team(newKey, .get, "/api/me").string("team_id") == team.id)

            // Refused within a cache lifetime (½ s); the wait is longer for a loaded machine.
            let refused = try await Fixture.eventually(within: .seconds(10), every: .milliseconds(50)) {
                let response = try await api.team(team.key, .get, "/api/me")
                return response.status == .unauthorized && response.detail == Self.invalidTeam
            }
            #expect(refused, "the old key still works a second after rotation")
            #expect(try await api.team(newKey, .get, "/api/me").status == .ok)
        }
    }

    @Test("rotation with a grace period: the old key works until it ends, then is refused")
    func rotateWithGrace() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            #expect(try await api.team(team.key, .get, "/api/me").status == .ok)
            let rotated = try await api.admin(.post, "/api/teams/\(team.id)/rotate-key", #"{"grace_seconds": 2}"#)
            // The grace period ends at most 2 s after this answer arrived.
            let answeredAt = ContinuousClock.now
            #expect(rotated.status == .ok)
            let newKey = try #require(rotated.string("virtual_key"))
            #expect(Fixture.isTimestamp(rotated.json?["previous_key_expires_at"]))

            // The old key's checks within the grace period count only when the machine answered
            // in time to be inside it (a loaded CI machine can stall for seconds).
            let oldKeyRightAfter = try await api.team(team.key, .get, "/api/me").status
            if ContinuousClock.now - answeredAt < .milliseconds(1800) {
                #expect(oldKeyRightAfter == .ok, "old key right after rotation")
            }
            #expect(try await api.team(newKey, .get, "/api/me").status == .ok, "new key right after rotation")
            // Past the key cache's lifetime, so the database answers: still within the grace period.
            try await Task.sleep(for: .milliseconds(700))
            let oldKeyWithin = try await api.team(team.key, .get, "/api/me").status
            if ContinuousClock.now - answeredAt < .milliseconds(1800) {
                #expect(oldKeyWithin == .ok, "old key within the grace period")
            }

            // After the grace period (and one cache lifetime) the old key is refused.
            let untilExpiry = Duration.seconds(2) - (ContinuousClock.now - answeredAt)
            if untilExpiry > .zero { try await Task.sleep(for: untilExpiry) }
            let refused = try await Fixture.eventually(within: .seconds(10), every: .milliseconds(50)) {
                try await api.team(team.key, .get, "/api/me").status == .unauthorized
            }
            #expect(refused, "the old key still works a second after its grace period")
            #expect(try await api.team(newKey, .get, "/api/me").status == .ok)
        }
    }

    @Test("a second rotation ends the first one's grace period: only the newest key works")
    func rotateTwice() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let second = try #require(
                try await api.admin(.post, "/api/teams/\(team.id)/rotate-key", #"{"grace_seconds": 3600}"#).string("virtual_key")
            )
            #expect(try await api.team(team.key, .get, "/api/me").status == .ok)
            let third = try #require(try await api.admin(.post, "/api/teams/\(team.id)/rotate-key").string("virtual_key"))
            let refused = try await Fixture.eventually(within: .milliseconds(1200), every: .milliseconds(50)) {
                let first = try await api.team(team.key, .get, "/api/me").status
                let previous = try await api.team(second, .get, "/api/me").status
                return first == .unauthorized && previous == .unauthorized
            }
            #expect(refused)
            #expect(try await api.team(third, .get, "/api/me").status == .ok)
        }
    }

    @Test("a key never appears in an answer after the one that minted it")
    func keyNeverShownAgain() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group])
            let rotated = try await api.admin(.post, "/api/teams/\(team.id)/rotate-key", #"{"grace_seconds": 60}"#)
            let newKey = try #require(rotated.string("virtual_key"))
            let keys = [team.key, newKey]

            var answers: [(String, TestResponse)] = []
            answers.append(("GET team", try await api.admin(.get, "/api/teams/\(team.id)")))
            answers.append(("list teams of org", try await api.admin(.get, "/api/teams?organization_id=\(team.organization)")))
            answers.append(("list teams", try await api.admin(.get, "/api/teams?limit=100")))
            answers.append(("org teams", try await api.admin(.get, "/api/organizations/\(team.organization)/teams")))
            answers.append(("me (old key)", try await api.team(team.key, .get, "/api/me")))
            answers.append(("me (new key)", try await api.team(newKey, .get, "/api/me")))
            answers.append(("balance", try await api.team(newKey, .get, "/api/credits/teams/\(team.id)/balance")))
            answers.append(("transactions", try await api.team(newKey, .get, "/api/credits/teams/\(team.id)/transactions")))
            answers.append(("usage", try await api.team(newKey, .get, "/api/teams/\(team.id)/usage?period=\(Fixture.currentMonth)")))
            answers.append(("credits", try await api.admin(.post, "/api/credits/teams/\(team.id)/add", #"{"credits": 1}"#)))
            answers.append(("model groups", try await api.admin(.put, "/api/teams/\(team.id)/model-groups", #"{"model_groups": []}"#)))
            answers.append(
                ("budget mode", try await api.admin(.patch, "/api/credits/teams/\(team.id)/budget-mode", #"{"budget_mode": "job_based"}"#))
            )
            answers.append(("audit", try await api.admin(.get, "/api/admin/audit?limit=100")))
            for (name, response) in answers {
                #expect(response.status == .ok, "\(name): \(response.summary)")
                for key in keys {
                    #expect(!response.text.contains(key), "\(name) shows a virtual key")
                    #expect(!response.text.contains(String(key.dropFirst(3))), "\(name) shows a virtual key's secret part")
                }
                #expect(!response.text.contains(Fixture.adminKey), "\(name) shows the admin key")
            }
            let me = answers[5].1
            #expect(me.string("key_prefix").map { newKey.hasPrefix($0) } == true)
        }
    }

    @Test("the database keeps only a hash and a short prefix of each key")
    func keysAtRest() async throws {
        let (team, newKey) = try await TestApp.test { client in
            let api = Caller(client: client)
            let team = try await api.createTeam()
            let rotated = try await api.admin(.post, "/api/teams/\(team.id)/rotate-key", #"{"grace_seconds": 60}"#)
            return (team, try #require(rotated.string("virtual_key")))
        }
        let keys = [team.key, newKey]
        try await Database.with { postgres in
            let keyRows = try await postgres.query("SELECT * FROM team_keys WHERE team_id = $1 ORDER BY created_at", [.text(team.id)])
            #expect(keyRows.count == 2, "the current key and the one in its grace period")
            for row in keyRows {
                for column in keyRows.columns {
                    let value = try row.text(column) ?? ""
                    for key in keys {
                        #expect(!value.contains(key), "team_keys.\(column) holds a key")
                        #expect(!value.contains(String(key.dropFirst(3))), "team_keys.\(column) holds a key's secret")
                        #expect(!value.lowercased().contains(Array(key.utf8).hex), "team_keys.\(column) holds a key's bytes")
                    }
                }
                let prefix = try #require(try row.text("key_prefix"))
                #expect(keys.contains { $0.hasPrefix(prefix) }, "key_prefix is a prefix of a key")
                #expect(prefix.count <= 16 && prefix.count < team.key.count / 2, "the prefix is short")
            }
            let prefixes = try keyRows.map { try $0.text("key_prefix") ?? "" }
            #expect(prefixes.contains { team.key.hasPrefix($0) })
            #expect(prefixes.contains { newKey.hasPrefix($0) })

            let teamRows = try await postgres.query("SELECT * FROM teams WHERE team_id = $1", [.text(team.id)])
            #expect(teamRows.count == 1)
            for row in teamRows {
                for column in teamRows.columns {
                    let value = try row.text(column) ?? ""
                    for key in keys { #expect(!value.contains(String(key.dropFirst(3))), "teams.\(column) holds a key") }
                }
            }
            // Nor anywhere in the audit log.
            for secret in keys.map({ String($0.dropFirst(3)) }) + [Fixture.adminKey] {
                let rows = try await postgres.query(
                    """
                    SELECT count(*) AS n FROM audit_log
                    WHERE strpos(actor || ' ' || action || ' ' || coalesce(target, '') || ' ' || outcome || ' ' || details::text, $1) > 0
                    """,
                    [.text(secret)]
                )
                #expect(try rows.first?.decode("n", as: Int.self) == 0, "the audit log holds a key")
            }
        }
    }
}
