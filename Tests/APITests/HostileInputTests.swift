import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Shared
import Testing

@testable import API

@Suite("Hostile input: a 4xx JSON answer, and nothing changes")
struct HostileInputTests {
    static let injection = "'; DROP TABLE teams; --"

    static func encoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
    }

    /// Every answer to bad input: a 4xx with a JSON `detail`.
    static func expectClientError(_ response: TestResponse, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect((400..<500).contains(response.status.code), "\(context): \(response.summary)", sourceLocation: sourceLocation)
        #expect(response.detail != nil, "\(context): no JSON detail", sourceLocation: sourceLocation)
    }

    @Test("SQL metacharacters in identifiers: 422 in bodies, 404 in paths, and the tables are still there")
    func sqlMetacharacters() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let provider = try await api.createProvider()
            let bad = Fixture.quoted(Self.injection)
            let bodies: [(String, String, String)] = [
                ("/api/organizations/create", #"{"organization_id": \#(bad), "name": "x"}"#, "organization_id"),
                ("/api/teams/create", #"{"organization_id": "\#(org)", "team_id": \#(bad), "model_groups": [], "credits_allocated": 1}"#, "team_id"),
                (
                    "/api/teams/create",
                    #"{"organization_id": \#(bad), "team_id": "\#(Fixture.id("team"))", "model_groups": [], "credits_allocated": 1}"#,
                    "organization_id"
                ),
                (
                    "/api/teams/create",
                    #"{"organization_id": "\#(org)", "team_id": "\#(Fixture.id("team"))", "model_groups": [\#(bad)], "credits_allocated": 1}"#,
                    "model_groups"
                ),
                (
                    "/api/model-groups/create",
                    #"{"group_name": \#(bad), "models": [{"model_name": "m", "provider": "\#(provider)", "priority": 0}]}"#, "group_name"
                ),
                (
                    "/api/model-groups/create",
                    #"{"group_name": "\#(Fixture.id("group"))", "models": [{"model_name": "m", "provider": \#(bad), "priority": 0}]}"#, "provider"
                ),
                ("/api/providers/create", #"{"name": \#(bad), "kind": "openai", "base_url": "http://h.example", "api_key": "k"}"#, "name"),
            ]
            for (path, body, field) in bodies {
                let response = try await api.admin(.post, path, body)
                #expect(response.status == .unprocessableContent, "\(path): \(response.summary)")
                #expect(response.detail?.contains(field) == true, "\(path): \(response.summary)")
            }

            let id = Self.encoded(Self.injection)
            let paths: [(HTTPRequest.Method, String, String?)] = [
                (.get, "/api/organizations/\(id)", nil), (.get, "/api/organizations/\(id)/teams", nil),
                (.get, "/api/organizations/\(id)/usage?period=2026-01", nil),
                (.get, "/api/teams/\(id)", nil), (.put, "/api/teams/\(id)/suspend", nil), (.put, "/api/teams/\(id)/resume", nil),
                (.post, "/api/teams/\(id)/rotate-key", nil), (.put, "/api/teams/\(id)/model-groups", #"{"model_groups": []}"#),
                (.get, "/api/teams/\(id)/usage?period=2026-01", nil),
                (.get, "/api/model-groups/\(id)", nil), (.delete, "/api/model-groups/\(id)", nil),
                (.put, "/api/model-groups/\(id)/models", #"{"models": [{"model_name": "m", "provider": "\#(provider)", "priority": 0}]}"#),
                (.get, "/api/providers/\(id)", nil), (.put, "/api/providers/\(id)", #"{"rpm": 1}"#), (.delete, "/api/providers/\(id)", nil),
                (.post, "/api/credits/teams/\(id)/add", #"{"credits": 1}"#),
                (.post, "/api/credits/teams/\(id)/adjust", #"{"credits": 1, "reason": "x"}"#),
                (.patch, "/api/credits/teams/\(id)/budget-mode", #"{"budget_mode": "job_based"}"#),
                (.get, "/api/credits/teams/\(id)/balance", nil), (.get, "/api/credits/teams/\(id)/transactions", nil),
            ]
            for (method, path, body) in paths {
                let response = try await api.admin(method, path, body)
                #expect(response.status == .notFound, "\(method) \(path): \(response.summary)")
                #expect(response.detail != nil)
            }
            let query = try await api.admin(.get, "/api/teams?organization_id=\(id)")
            #expect(query.status == .ok)
            #expect(query.objects("teams").isEmpty)
        }
        try await Database.with { postgres in
            for table in ["teams", "organizations", "team_keys", "credit_accounts", "credit_ledger", "model_groups", "providers", "audit_log"] {
                let exists = try await postgres.query("SELECT to_regclass($1)::text AS t", [.text("public.\(table)")])
                #expect(try exists.first?.decodeIfPresent("t", as: String.self) == table, "\(table) still exists")
            }
            let rows = try await postgres.query("SELECT count(*) AS n FROM teams WHERE team_id = $1", [.text(Self.injection)])
            #expect(try rows.first?.decode("n", as: Int.self) == 0)
        }
    }

    @Test("a quote or backslash carrying a combining mark is stored as sent, in a single submit and in a batch")
    func combiningMarksOnEscapedCharacters() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let provider = try await api.createProvider()
            let group = try await api.createModelGroup(provider: provider)
            let team = try await api.createTeam(organization: org, groups: [group], credits: 100)
            // JSON escapes of `"` and `\` followed by U+0301: one grapheme each in Swift.
            let jobType = #"q\"\#u{301}b\\\#u{301}e"#
            let body =
                #"{"team_id": "\#(team.id)", "job_type": "\#(jobType)", "model": "\#(group)", "messages": [{"role": "user", "content": "\#(jobType)"}]}"#
            let created = try await api.team(team.key, .post, "/api/jobs/create", body)
            #expect(created.status == .accepted, "\(created.text)")
            let jobID = try #require(created.string("job_id"))
            let read = try await api.team(team.key, .get, "/api/jobs/\(jobID)")
            // (Compared through a constant: swift-testing's macro quotes its literal per Character
            // too, and fails to compile on this one.)
            let expected = "q\"\u{301}b\\\u{301}e"
            #expect(read.string("job_type") == expected)
            let batch = try await api.team(team.key, .post, "/api/jobs/batch", #"{"jobs": [\#(body), \#(body)]}"#)
            #expect(batch.status == .accepted, "\(batch.text)")
            let items = batch.objects("jobs")
            #expect(items.count == 2 && items.allSatisfy { $0["job_id"] is String }, "\(batch.text)")
        }
    }

    @Test("10 KB identifiers: 422 in bodies, 404 in paths; nothing is created")
    func hugeIdentifiers() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let provider = try await api.createProvider()
            let huge = String(repeating: "a", count: 10 * 1024)
            let bodies: [(String, String, String)] = [
                ("/api/organizations/create", #"{"organization_id": "\#(huge)", "name": "x"}"#, "organization_id"),
                ("/api/organizations/create", #"{"organization_id": "\#(Fixture.id("org"))", "name": "\#(huge)"}"#, "name"),
                (
                    "/api/teams/create", #"{"organization_id": "\#(org)", "team_id": "\#(huge)", "model_groups": [], "credits_allocated": 1}"#,
                    "team_id"
                ),
                (
                    "/api/teams/create",
                    #"{"organization_id": "\#(huge)", "team_id": "\#(Fixture.id("team"))", "model_groups": [], "credits_allocated": 1}"#,
                    "organization_id"
                ),
                (
                    "/api/teams/create",
                    #"{"organization_id": "\#(org)", "team_id": "\#(Fixture.id("team"))", "team_alias": "\#(huge)", "model_groups": [], "credits_allocated": 1}"#,
                    "team_alias"
                ),
                (
                    "/api/teams/create",
                    #"{"organization_id": "\#(org)", "team_id": "\#(Fixture.id("team"))", "model_groups": ["\#(huge)"], "credits_allocated": 1}"#,
                    "model_groups"
                ),
                (
                    "/api/model-groups/create",
                    #"{"group_name": "\#(huge)", "models": [{"model_name": "m", "provider": "\#(provider)", "priority": 0}]}"#, "group_name"
                ),
                (
                    "/api/model-groups/create",
                    #"{"group_name": "\#(Fixture.id("group"))", "models": [{"model_name": "\#(huge)", "provider": "\#(provider)", "priority": 0}]}"#,
                    "model_name"
                ),
                ("/api/providers/create", #"{"name": "\#(huge)", "kind": "openai", "base_url": "http://h.example", "api_key": "k"}"#, "name"),
                (
                    "/api/providers/create",
                    #"{"name": "\#(Fixture.id("prov"))", "kind": "openai", "base_url": "http://h.example/\#(huge)", "api_key": "k"}"#, "base_url"
                ),
                (
                    "/api/providers/create",
                    #"{"name": "\#(Fixture.id("prov"))", "kind": "openai", "base_url": "http://h.example", "api_key": "\#(huge)"}"#, "api_key"
                ),
            ]
            for (path, body, field) in bodies {
                let response = try await api.admin(.post, path, body)
                #expect(response.status == .unprocessableContent, "\(path) \(field): \(response.summary)")
                #expect(response.detail?.contains(field) == true, "\(path) \(field): \(response.summary)")
                #expect(response.text.utf8.count < 2048, "the answer does not echo 10 KB back")
            }
            #expect(try await api.admin(.get, "/api/teams?organization_id=\(org)").objects("teams").isEmpty)

            let team = try await api.createTeam(organization: org, credits: 10)
            let credit = try await api.admin(.post, "/api/credits/teams/\(team.id)/add", #"{"credits": 1, "reason": "\#(huge)"}"#)
            #expect(credit.status == .unprocessableContent)
            #expect(credit.detail?.contains("reason") == true)
            #expect(try await api.remaining(team.id) == 10)

            let paths: [(HTTPRequest.Method, String, String?)] = [
                (.get, "/api/organizations/\(huge)", nil), (.get, "/api/organizations/\(huge)/teams", nil),
                (.get, "/api/organizations/\(huge)/usage?period=2026-01", nil),
                (.get, "/api/teams/\(huge)", nil), (.put, "/api/teams/\(huge)/suspend", nil), (.post, "/api/teams/\(huge)/rotate-key", nil),
                (.put, "/api/teams/\(huge)/model-groups", #"{"model_groups": []}"#),
                (.get, "/api/model-groups/\(huge)", nil), (.delete, "/api/model-groups/\(huge)", nil),
                (.get, "/api/providers/\(huge)", nil), (.delete, "/api/providers/\(huge)", nil),
                (.post, "/api/credits/teams/\(huge)/add", #"{"credits": 1}"#), (.get, "/api/credits/teams/\(huge)/balance", nil),
                (.get, "/api/credits/teams/\(huge)/transactions", nil), (.get, "/api/teams/\(huge)/usage?period=2026-01", nil),
            ]
            for (method, path, body) in paths {
                let response = try await api.admin(method, path, body)
                #expect(response.status == .notFound, "\(method) \(path.prefix(40))…: \(response.summary)")
                #expect(response.text.utf8.count < 2048, "the answer does not echo 10 KB back")
            }
            // A team key with a 10 KB path: the foreign-team check answers, not the database.
            let foreign = try await api.team(team.key, .get, "/api/credits/teams/\(huge)/balance")
            Self.expectClientError(foreign, "10 KB team id with a team key")
        }
    }

    @Test("deeply nested JSON is a 400 or 422, quickly, and creates nothing")
    func deeplyNested() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let depth = 10_000
            let nestedArrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            let nestedObjects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
            for (label, value) in [("arrays", nestedArrays), ("objects", nestedObjects)] {
                let id = Fixture.id("org")
                let started = ContinuousClock.now
                let response = try await api.admin(
                    .post,
                    "/api/organizations/create",
                    #"{"organization_id": "\#(id)", "name": "x", "metadata": {"deep": \#(value)}}"#
                )
                #expect([.badRequest, .unprocessableContent].contains(response.status), "\(label): \(response.summary)")
                #expect(response.detail != nil)
                #expect(ContinuousClock.now - started < .seconds(2), "\(label) took \(ContinuousClock.now - started)")
                #expect(try await api.admin(.get, "/api/organizations/\(id)").status == .notFound)

                let teamID = Fixture.id("team")
                let team = try await api.admin(
                    .post,
                    "/api/teams/create",
                    #"{"organization_id": "\#(org)", "team_id": "\#(teamID)", "model_groups": [], "credits_allocated": 1, "metadata": {"x": \#(value)}}"#
                )
                #expect([.badRequest, .unprocessableContent].contains(team.status), "\(label): \(team.summary)")
                #expect(try await api.admin(.get, "/api/teams/\(teamID)").status == .notFound)

                let whole = try await api.admin(.post, "/api/organizations/create", value)
                #expect([.badRequest, .unprocessableContent].contains(whole.status), "\(label) body: \(whole.summary)")
            }
            // Nesting the parser accepts is stored and answered back, or refused — never a 5xx.
            let moderate = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
            let id = Fixture.id("org")
            let response = try await api.admin(
                .post,
                "/api/organizations/create",
                #"{"organization_id": "\#(id)", "name": "x", "metadata": {"deep": \#(moderate)}}"#
            )
            #expect(response.status == .ok || response.status.code / 100 == 4, "\(response.summary)")
        }
    }

    @Test("a body that is not UTF-8 is a 400; nothing is created")
    func invalidUTF8() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let team = try await api.createTeam(organization: org, credits: 10)
            let id = Fixture.id("org")
            let cases: [(HTTPRequest.Method, String, [UInt8])] = [
                (.post, "/api/organizations/create", Array(#"{"organization_id": "\#(id)", "name": "caf"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)),
                (.post, "/api/organizations/create", Array(#"{"organization_id": "\#(id)", "name": "x"#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)),
                (.post, "/api/credits/teams/\(team.id)/add", Array(#"{"credits": 5, "reason": ""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8)),
                (.post, "/api/teams/create", [0x80, 0x81, 0x82]),
            ]
            for (method, path, bytes) in cases {
                let response = try await api.sendBytes(
                    method,
                    path,
                    headers: [.xAdminKey: Fixture.adminKey, .contentType: "application/json"],
                    bytes: bytes
                )
                #expect(response.status == .badRequest, "\(path): \(response.summary)")
                #expect(response.detail != nil)
            }
            #expect(try await api.admin(.get, "/api/organizations/\(id)").status == .notFound)
            #expect(try await api.remaining(team.id) == 10)
        }
    }

    @Test("a body that is not JSON is a 400; valid JSON of the wrong shape a 422")
    func notJSON() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 10)
            let id = Fixture.id("org")
            for body in [
                "", "hello", "{", #"{"organization_id": "\#(id)", "name": "x""#, "{'organization_id': 'x'}",
                "<xml/>", "organization_id=\(id)&name=x",
            ] {
                let response = try await api.admin(.post, "/api/organizations/create", body)
                #expect(response.status == .badRequest, "'\(body)': \(response.summary)")
                #expect(response.detail != nil)
            }
            for body in ["null", "[]", "42", #""string""#, "true", #"[{"organization_id": "\#(id)", "name": "x"}]"#] {
                let response = try await api.admin(.post, "/api/organizations/create", body)
                #expect(response.status == .unprocessableContent, "'\(body)': \(response.summary)")
                #expect(response.detail != nil)
            }
            #expect(try await api.admin(.get, "/api/organizations/\(id)").status == .notFound)
            for body in ["", "credits=5", "{credits: 5}"] {
                let response = try await api.admin(.post, "/api/credits/teams/\(team.id)/add", body)
                #expect(response.status == .badRequest, "'\(body)': \(response.summary)")
            }
            #expect(try await api.remaining(team.id) == 10)
        }
    }

    @Test("wrong types and missing fields are 422s naming the field; nothing changes")
    func wrongTypesAndMissingFields() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 10)
            let cases: [(String, String, String)] = [
                ("/api/credits/teams/\(team.id)/add", #"{"credits": "five"}"#, "credits"),
                ("/api/credits/teams/\(team.id)/add", #"{"credits": [5]}"#, "credits"),
                ("/api/credits/teams/\(team.id)/add", #"{"credits": {"n": 5}}"#, "credits"),
                ("/api/credits/teams/\(team.id)/add", #"{"credits": 5, "reason": 5}"#, "reason"),
                ("/api/credits/teams/\(team.id)/add", #"{"amount": 5}"#, "credits"),
                ("/api/credits/teams/\(team.id)/adjust", #"{"credits": -1}"#, "reason"),
                ("/api/credits/teams/\(team.id)/adjust", #"{"credits": false, "reason": "x"}"#, "credits"),
                ("/api/organizations/create", #"{"organization_id": null, "name": "x"}"#, "organization_id"),
                (
                    "/api/teams/create",
                    #"{"organization_id": "\#(team.organization)", "team_id": "\#(Fixture.id("team"))", "model_groups": [1], "credits_allocated": 1}"#,
                    "model_groups"
                ),
            ]
            for (path, body, field) in cases {
                let response = try await api.admin(.post, path, body)
                #expect(response.status == .unprocessableContent, "\(path) \(body): \(response.summary)")
                #expect(response.detail?.contains(field) == true, "\(path) \(body): \(response.summary)")
            }
            #expect(try await api.remaining(team.id) == 10)
            #expect(try await api.admin(.get, "/api/organizations?limit=1").status == .ok)
        }
    }

    @Test("unknown fields are ignored, including ones that name what the server decides")
    func unknownFieldsIgnored() async throws {
        try await Caller.run { api in
            let org = Fixture.id("org")
            let created = try await api.admin(
                .post,
                "/api/organizations/create",
                #"{"organization_id": "\#(org)", "name": "x", "colour": "blue", "created_at": "1999-01-01T00:00:00.000Z", "nested": {"a": [1]}}"#
            )
            #expect(created.status == .ok, "\(created.summary)")
            #expect(created.string("created_at")?.hasPrefix("1999") == false)

            let chosen = "sk-" + String(repeating: "Z", count: 43)
            let teamID = Fixture.id("team")
            let team = try await api.admin(
                .post,
                "/api/teams/create",
                #"{"organization_id": "\#(org)", "team_id": "\#(teamID)", "model_groups": [], "credits_allocated": 5, "virtual_key": "\#(chosen)", "status": "suspended", "credits_used": 3, "key_prefix": "sk-ZZZZ"}"#
            )
            #expect(team.status == .ok, "\(team.summary)")
            #expect(team.string("status") == "active")
            #expect(team.int("credits_used") == 0)
            #expect(team.int("credits_remaining") == 5)
            #expect(team.string("virtual_key") != chosen)
            #expect(try await api.team(chosen, .get, "/api/me").status == .unauthorized)

            let other = try await api.createTeam(organization: org, credits: 1)
            let added = try await api.admin(
                .post,
                "/api/credits/teams/\(teamID)/add",
                #"{"credits": 2, "team_id": "\#(other.id)", "transaction_type": "charge"}"#
            )
            #expect(added.status == .ok)
            #expect((added.json?["transaction"] as? [String: Any])?["transaction_type"] as? String == "allocation")
            #expect(try await api.remaining(teamID) == 7)
            #expect(try await api.remaining(other.id) == 1)
        }
    }

    @Test("a body over 1 MiB is a 413; nothing is created")
    func oversizedBody() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 10)
            let padding = String(repeating: "x", count: (1 << 20) + 16)
            let id = Fixture.id("org")
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.post, "/api/organizations/create", #"{"organization_id": "\#(id)", "name": "x", "metadata": {"pad": "\#(padding)"}}"#),
                (
                    .post, "/api/teams/create",
                    #"{"organization_id": "\#(team.organization)", "team_id": "\#(id)", "model_groups": [], "credits_allocated": 1, "pad": "\#(padding)"}"#
                ),
                (.post, "/api/credits/teams/\(team.id)/add", #"{"credits": 5, "reason": "\#(padding)"}"#),
                (.post, "/api/credits/teams/\(team.id)/adjust", #"{"credits": 5, "reason": "\#(padding)"}"#),
                (.post, "/api/providers/create", #"{"name": "\#(id)", "kind": "openai", "base_url": "http://h.example", "api_key": "\#(padding)"}"#),
                (.post, "/api/model-groups/create", #"{"group_name": "\#(id)", "models": [], "pad": "\#(padding)"}"#),
                (.put, "/api/teams/\(team.id)/model-groups", #"{"model_groups": [], "pad": "\#(padding)"}"#),
                (.patch, "/api/credits/teams/\(team.id)/budget-mode", #"{"budget_mode": "consumption_usd", "pad": "\#(padding)"}"#),
                (.post, "/api/teams/\(team.id)/rotate-key", #"{"grace_seconds": 5, "pad": "\#(padding)"}"#),
            ]
            for (method, path, body) in cases {
                let response = try await api.admin(method, path, body)
                #expect(response.status == .contentTooLarge, "\(method) \(path): \(response.summary)")
                #expect(response.detail != nil)
            }
            #expect(try await api.admin(.get, "/api/organizations/\(id)").status == .notFound)
            #expect(try await api.admin(.get, "/api/teams/\(id)").status == .notFound)
            #expect(try await api.admin(.get, "/api/providers/\(id)").status == .notFound)
            let fetched = try await api.admin(.get, "/api/teams/\(team.id)")
            #expect(fetched.int("credits_remaining") == 10)
            #expect(fetched.string("budget_mode") == "job_based")
            // The key was not rotated.
            #expect(try await api.team(team.key, .get, "/api/me").status == .ok)

            // Just under the limit is read (and then judged on its content).
            let under = String(repeating: "y", count: (1 << 20) - 200)
            let accepted = try await api.admin(.post, "/api/credits/teams/\(team.id)/add", #"{"credits": 1, "pad": "\#(under)"}"#)
            #expect(accepted.status == .ok, "\(accepted.summary)")
        }
    }

    @Test("metadata over 16 KiB is a 422; up to it is stored and answered back")
    func metadataLimit() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let big = String(repeating: "m", count: 17 * 1024)
            let id = Fixture.id("org")
            let refused = try await api.admin(
                .post,
                "/api/organizations/create",
                #"{"organization_id": "\#(id)", "name": "x", "metadata": {"blob": "\#(big)"}}"#
            )
            #expect(refused.status == .unprocessableContent, "\(refused.summary)")
            #expect(refused.detail?.contains("metadata") == true)
            #expect(try await api.admin(.get, "/api/organizations/\(id)").status == .notFound)

            let teamID = Fixture.id("team")
            let refusedTeam = try await api.admin(
                .post,
                "/api/teams/create",
                #"{"organization_id": "\#(org)", "team_id": "\#(teamID)", "model_groups": [], "credits_allocated": 1, "metadata": {"blob": "\#(big)"}}"#
            )
            #expect(refusedTeam.status == .unprocessableContent, "\(refusedTeam.summary)")
            #expect(refusedTeam.detail?.contains("metadata") == true)
            #expect(try await api.admin(.get, "/api/teams/\(teamID)").status == .notFound)

            // Many small keys count as much as one big value.
            let manyKeys = (0..<2000).map { #""k\#($0)": "vvvvvv""# }.joined(separator: ",")
            let refusedMany = try await api.admin(
                .post,
                "/api/organizations/create",
                #"{"organization_id": "\#(id)", "name": "x", "metadata": {\#(manyKeys)}}"#
            )
            #expect(refusedMany.status == .unprocessableContent, "\(refusedMany.summary)")

            let fits = String(repeating: "f", count: 15 * 1024)
            let stored = try await api.admin(
                .post,
                "/api/organizations/create",
                #"{"organization_id": "\#(id)", "name": "x", "metadata": {"blob": "\#(fits)"}}"#
            )
            #expect(stored.status == .ok, "\(stored.summary)")
            let fetched = try await api.admin(.get, "/api/organizations/\(id)")
            #expect((fetched.json?["metadata"] as? [String: Any])?["blob"] as? String == fits)
        }
    }

    @Test("NUL characters in strings are stored as sent or refused, never truncated or a 5xx")
    func nulCharacters() async throws {
        try await Caller.run { api in
            let id = Fixture.id("org")
            let name = try await api.admin(.post, "/api/organizations/create", #"{"organization_id": "\#(id)", "name": "before\u0000after"}"#)
            let fetched = try await api.admin(.get, "/api/organizations/\(id)")
            #expect(
                name.status == .unprocessableContent || fetched.string("name") == "before\u{0}after",
                "\(name.summary) → stored \(fetched.summary)"
            )

            let onlyNul = Fixture.id("org")
            let empty = try await api.admin(.post, "/api/organizations/create", #"{"organization_id": "\#(onlyNul)", "name": "\u0000 name"}"#)
            #expect(empty.status == .unprocessableContent, "\(empty.summary)")

            let metaID = Fixture.id("org")
            let metadata = try await api.admin(
                .post,
                "/api/organizations/create",
                #"{"organization_id": "\#(metaID)", "name": "x", "metadata": {"k": "a\u0000b"}}"#
            )
            #expect(metadata.status == .unprocessableContent, "\(metadata.summary)")
        }
    }

    @Test("a NUL in a path identifier does not reach another team")
    func nulInPath() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 10)
            let path = "/api/teams/\(team.id)%00suffix"
            let response = try await api.admin(.get, path)
            #expect(response.status == .notFound, "\(response.summary)")
            let added = try await api.admin(.post, "/api/credits/teams/\(team.id)%00x/add", #"{"credits": 5}"#)
            #expect(added.status == .notFound, "\(added.summary)")
            #expect(try await api.remaining(team.id) == 10)
        }
    }

    @Test("balances the ledger cannot hold are refused with a 4xx, never a 5xx")
    func hugeBalances() async throws {
        try await Caller.run { api in
            // One request moves at most 10^12 credits.
            let tooBig = try await api.admin(
                .post,
                "/api/teams/create",
                #"{"organization_id": "\#(try await api.createOrganization())", "team_id": "\#(Fixture.id("team"))", "model_groups": [], "credits_allocated": \#(Int64.max)}"#
            )
            #expect(tooBig.status == .unprocessableContent, "\(tooBig.summary)")
            // A balance near the 10^15 ceiling (set directly: reaching it by requests takes a thousand adds).
            let team = try await api.createTeam(credits: 10)
            _ = try await Database.with { postgres in
                try await postgres.query(
                    "UPDATE credit_accounts SET credits_allocated = $1 WHERE team_id = $2",
                    [.int(999_999_999_999_990), .text(team.id)]
                )
            }
            let add = try await api.admin(.post, "/api/credits/teams/\(team.id)/add", #"{"credits": 100}"#)
            #expect(add.status == .unprocessableContent, "\(add.summary)")
            let adjust = try await api.admin(.post, "/api/credits/teams/\(team.id)/adjust", #"{"credits": 100, "reason": "x"}"#)
            #expect(adjust.status == .unprocessableContent, "\(adjust.summary)")
            #expect(try await api.remaining(team.id) == 999_999_999_999_990)
        }
    }

    @Test("a known path with a wrong method is a JSON 405 with Allow")
    func wrongMethod() async throws {
        try await Caller.run { api in
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.delete, "/api/organizations", "GET"),
                (.post, "/api/organizations", "GET"),
                (.delete, "/api/organizations/x", "GET"),
                (.post, "/api/organizations/x/teams", "GET"),
                (.put, "/api/organizations/x/usage", "GET"),
                (.delete, "/api/teams", "GET"),
                (.patch, "/api/teams/x", "GET"),
                (.post, "/api/teams/x/suspend", "PUT"),
                (.get, "/api/teams/x/resume", "PUT"),
                (.get, "/api/teams/x/rotate-key", "POST"),
                (.post, "/api/teams/x/model-groups", "PUT"),
                (.post, "/api/me", "GET"),
                (.delete, "/api/teams/x/usage", "GET"),
                (.delete, "/api/model-groups", "GET"),
                (.post, "/api/model-groups/x", "DELETE, GET"),
                (.get, "/api/model-groups/x/models", "PUT"),
                (.put, "/api/providers", "GET"),
                (.post, "/api/providers/x", "DELETE, GET, PUT"),
                (.get, "/api/credits/teams/x/add", "POST"),
                (.put, "/api/credits/teams/x/adjust", "POST"),
                (.post, "/api/credits/teams/x/budget-mode", "PATCH"),
                (.post, "/api/credits/teams/x/balance", "GET"),
                (.delete, "/api/credits/teams/x/transactions", "GET"),
                (.post, "/api/admin/audit", "GET"),
            ]
            for (method, path, allow) in cases {
                for headers: HTTPFields in [[.xAdminKey: Fixture.adminKey], [:]] {
                    let response = try await api.send(method, path, headers: headers)
                    #expect(response.status == .methodNotAllowed, "\(method) \(path): \(response.summary)")
                    #expect(response.headers[.allow] == allow, "\(method) \(path): Allow \(response.headers[.allow] ?? "none")")
                    #expect(response.detail == "Method not allowed")
                    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                }
            }
            // A wrong method changes nothing.
            let team = try await api.createTeam(credits: 10)
            _ = try await api.admin(.get, "/api/credits/teams/\(team.id)/add")
            _ = try await api.admin(.delete, "/api/teams/\(team.id)")
            #expect(try await api.admin(.get, "/api/teams/\(team.id)").int("credits_remaining") == 10)

            let unknown = try await api.admin(.get, "/api/organisations")
            #expect(unknown.status == .notFound)
            #expect(unknown.detail == "Not found")
        }
    }
}

/// Extreme numbers that once trapped integer arithmetic: answered with a 4xx.
@Suite("Hostile numbers in credit changes")
struct ExtremeNumberTests {
    @Test("adjusting by Int64.min or Int64.max answers a 422")
    func adjustByExtremes() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 10)
            for credits in [Int64.min, Int64.max] {
                let response = try await api.admin(.post, "/api/credits/teams/\(team.id)/adjust", #"{"credits": \#(credits), "reason": "x"}"#)
                #expect(response.status == .unprocessableContent, "\(response.summary)")
            }
            #expect(try await api.remaining(team.id) == 10)
        }
    }
}
