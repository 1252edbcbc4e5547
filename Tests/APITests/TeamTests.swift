import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API

@Suite("Teams: create, read, list, model groups, suspend, resume, keys, /api/me and usage")
struct TeamTests {
    @Test("create answers the team with its virtual key, the only time it is shown")
    func create() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let group = try await api.createModelGroup()
            let id = Fixture.id("team")
            let body = """
                {"organization_id": "\(org)", "team_id": "\(id)", "team_alias": "Research", "model_groups": ["\(group)"],
                 "credits_allocated": 250, "metadata": {"cost_center": "R&D"}}
                """
            let created = try await api.admin(.post, "/api/teams/create", body)
            #expect(created.status == .ok, "\(created.summary)")
            #expect(created.string("team_id") == id)
            #expect(created.string("organization_id") == org)
            #expect(created.string("team_alias") == "Research")
            #expect(created.string("status") == "active")
            #expect(created.json?["model_groups"] as? [String] == [group])
            #expect(created.int("credits_allocated") == 250)
            #expect(created.int("credits_used") == 0)
            #expect(created.int("credits_reserved") == 0)
            #expect(created.int("credits_remaining") == 250)
            #expect(created.string("budget_mode") == "job_based")
            #expect(created.int("tokens_per_credit") == 10_000)
            #expect((created.json?["credits_per_dollar"] as? NSNumber)?.doubleValue == 10)
            #expect((created.json?["metadata"] as? [String: Any])?["cost_center"] as? String == "R&D")
            #expect(Fixture.isTimestamp(created.json?["created_at"]))

            let key = try #require(created.string("virtual_key"))
            #expect(key.range(of: #"^sk-[A-Za-z0-9_-]{32,}$"#, options: .regularExpression) != nil, "key shape: \(key.prefix(6))…")
            let prefix = try #require(created.string("key_prefix"))
            #expect(key.hasPrefix(prefix))
            #expect(prefix.count < key.count)

            // Each team gets its own key.
            let other = try await api.createTeam(organization: org)
            #expect(other.key != key)
        }
    }

    @Test("create takes the billing settings")
    func createWithBilling() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(extra: #", "budget_mode": "consumption_tokens", "tokens_per_credit": 500, "credits_per_dollar": 2.5"#)
            let fetched = try await api.admin(.get, "/api/teams/\(team.id)")
            #expect(fetched.string("budget_mode") == "consumption_tokens")
            #expect(fetched.int("tokens_per_credit") == 500)
            #expect((fetched.json?["credits_per_dollar"] as? NSNumber)?.doubleValue == 2.5)
        }
    }

    @Test("create: 404 for an unknown organization or model group, 409 for a taken id; nothing is created")
    func createRefusals() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let unknownOrg = Fixture.id("missing-org")
            let id = Fixture.id("team")
            let noOrg = try await api.admin(
                .post,
                "/api/teams/create",
                #"{"organization_id": "\#(unknownOrg)", "team_id": "\#(id)", "model_groups": [], "credits_allocated": 1}"#
            )
            #expect(noOrg.status == .notFound)
            #expect(noOrg.detail == "Organization '\(unknownOrg)' not found")
            #expect(try await api.admin(.get, "/api/teams/\(id)").status == .notFound)

            let unknownGroup = Fixture.id("missing-group")
            let group = try await api.createModelGroup()
            let noGroup = try await api.admin(
                .post,
                "/api/teams/create",
                #"{"organization_id": "\#(org)", "team_id": "\#(id)", "model_groups": ["\#(group)", "\#(unknownGroup)"], "credits_allocated": 1}"#
            )
            #expect(noGroup.status == .notFound)
            #expect(noGroup.detail == "Model group '\(unknownGroup)' not found")
            #expect(try await api.admin(.get, "/api/teams/\(id)").status == .notFound)
            #expect(try await api.admin(.get, "/api/credits/teams/\(id)/balance").status == .notFound)

            let team = try await api.createTeam(id, organization: org, credits: 5)
            let again = try await api.admin(
                .post,
                "/api/teams/create",
                #"{"organization_id": "\#(org)", "team_id": "\#(team.id)", "model_groups": [], "credits_allocated": 999}"#
            )
            #expect(again.status == .conflict)
            #expect(again.detail == "Team '\(team.id)' already exists")
            #expect(try await api.remaining(team.id) == 5)
        }
    }

    @Test("create refuses invalid fields with a 422 naming the field")
    func createValidation() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let id = Fixture.id("team")
            let base = #""organization_id": "\#(org)", "team_id": "\#(id)""#
            let cases: [(body: String, field: String)] = [
                (#"{\#(base), "model_groups": [], "credits_allocated": -1}"#, "credits_allocated"),
                (#"{\#(base), "model_groups": [], "credits_allocated": "100"}"#, "credits_allocated"),
                (#"{\#(base), "model_groups": []}"#, "credits_allocated"),
                (#"{\#(base), "credits_allocated": 1}"#, "model_groups"),
                (#"{\#(base), "model_groups": "g", "credits_allocated": 1}"#, "model_groups"),
                (#"{\#(base), "model_groups": ["bad name!"], "credits_allocated": 1}"#, "model_groups"),
                (#"{"organization_id": "\#(org)", "model_groups": [], "credits_allocated": 1}"#, "team_id"),
                (#"{"organization_id": "\#(org)", "team_id": "a/b", "model_groups": [], "credits_allocated": 1}"#, "team_id"),
                (#"{"team_id": "\#(id)", "model_groups": [], "credits_allocated": 1}"#, "organization_id"),
                (#"{\#(base), "model_groups": [], "credits_allocated": 1, "budget_mode": "free"}"#, "budget_mode"),
                (#"{\#(base), "model_groups": [], "credits_allocated": 1, "tokens_per_credit": 0}"#, "tokens_per_credit"),
                (#"{\#(base), "model_groups": [], "credits_allocated": 1, "credits_per_dollar": -2}"#, "credits_per_dollar"),
                (#"{\#(base), "model_groups": [], "credits_allocated": 1, "team_alias": "\#(String(repeating: "a", count: 201))"}"#, "team_alias"),
                (#"{\#(base), "model_groups": [], "credits_allocated": 1, "metadata": 3}"#, "metadata"),
            ]
            for (body, field) in cases {
                let response = try await api.admin(.post, "/api/teams/create", body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.summary)")
                #expect(response.detail?.contains(field) == true, "\(body): \(response.summary)")
            }
            #expect(try await api.admin(.get, "/api/teams/\(id)").status == .notFound)
        }
    }

    @Test("get answers the team without its key; an unknown team is a 404")
    func get() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 42)
            let fetched = try await api.admin(.get, "/api/teams/\(team.id)")
            #expect(fetched.status == .ok)
            #expect(fetched.string("team_id") == team.id)
            #expect(fetched.string("organization_id") == team.organization)
            #expect(fetched.string("status") == "active")
            #expect(fetched.json?["model_groups"] as? [String] == [])
            #expect(fetched.int("credits_remaining") == 42)
            #expect(fetched.string("key_prefix").map { team.key.hasPrefix($0) } == true)
            #expect(fetched.json?["virtual_key"] == nil || fetched.json?["virtual_key"] is NSNull)
            #expect(!fetched.text.contains(team.key))

            let unknown = Fixture.id("missing-team")
            let missing = try await api.admin(.get, "/api/teams/\(unknown)")
            #expect(missing.status == .notFound)
            #expect(missing.detail == "Team '\(unknown)' not found")
        }
    }

    @Test("list: every team, filtered by organization, paged")
    func list() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            var mine: Set<String> = []
            for _ in 0..<3 { mine.insert(try await api.createTeam(organization: org).id) }

            let filtered = try await api.admin(.get, "/api/teams?organization_id=\(org)")
            #expect(filtered.status == .ok)
            #expect(Set(filtered.objects("teams").compactMap { $0["team_id"] as? String }) == mine)

            let (rows, pages) = try await api.walk("/api/teams?organization_id=\(org)", key: "teams", limit: 2)
            #expect(pages == 2)
            #expect(rows.compactMap { $0["team_id"] as? String }.sorted() == mine.sorted())

            let first = try await api.admin(.get, "/api/teams?limit=1")
            #expect(first.status == .ok)
            #expect(first.objects("teams").count == 1)
            #expect(first.json?["next_cursor"] is String)
        }
    }

    @Test("PUT model-groups replaces the team's groups; unknown groups or teams are 404s")
    func modelGroups() async throws {
        try await Caller.run { api in
            let provider = try await api.createProvider()
            let g1 = try await api.createModelGroup(provider: provider)
            let g2 = try await api.createModelGroup(provider: provider)
            let team = try await api.createTeam(groups: [g1])

            let replaced = try await api.admin(.put, "/api/teams/\(team.id)/model-groups", #"{"model_groups": ["\#(g2)", "\#(g1)", "\#(g2)"]}"#)
            #expect(replaced.status == .ok, "\(replaced.summary)")
            #expect(Set(replaced.json?["model_groups"] as? [String] ?? []) == [g1, g2])
            #expect((replaced.json?["model_groups"] as? [String])?.count == 2)
            #expect(!replaced.text.contains(team.key))

            let unknown = Fixture.id("missing-group")
            let refused = try await api.admin(.put, "/api/teams/\(team.id)/model-groups", #"{"model_groups": ["\#(unknown)"]}"#)
            #expect(refused.status == .notFound)
            #expect(refused.detail == "Model group '\(unknown)' not found")
            let unchanged = try await api.admin(.get, "/api/teams/\(team.id)")
            #expect(Set(unchanged.json?["model_groups"] as? [String] ?? []) == [g1, g2])

            let cleared = try await api.admin(.put, "/api/teams/\(team.id)/model-groups", #"{"model_groups": []}"#)
            #expect(cleared.json?["model_groups"] as? [String] == [])

            let unknownTeam = Fixture.id("missing-team")
            let noTeam = try await api.admin(.put, "/api/teams/\(unknownTeam)/model-groups", #"{"model_groups": []}"#)
            #expect(noTeam.status == .notFound)
            #expect(noTeam.detail == "Team '\(unknownTeam)' not found")

            let bad = try await api.admin(.put, "/api/teams/\(team.id)/model-groups", #"{"groups": []}"#)
            #expect(bad.status == .unprocessableContent)
            #expect(bad.detail?.contains("model_groups") == true)
        }
    }

    @Test("suspend and resume answer the team with its status; unknown teams are 404s")
    func suspendResume() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let suspended = try await api.admin(.put, "/api/teams/\(team.id)/suspend")
            #expect(suspended.status == .ok, "\(suspended.summary)")
            #expect(suspended.string("status") == "suspended")
            #expect(suspended.string("team_id") == team.id)
            #expect(try await api.admin(.get, "/api/teams/\(team.id)").string("status") == "suspended")
            // Suspending twice is harmless.
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/suspend").string("status") == "suspended")

            let resumed = try await api.admin(.put, "/api/teams/\(team.id)/resume")
            #expect(resumed.status == .ok)
            #expect(resumed.string("status") == "active")
            #expect(try await api.admin(.get, "/api/teams/\(team.id)").string("status") == "active")

            let unknown = Fixture.id("missing-team")
            for action in ["suspend", "resume"] {
                let missing = try await api.admin(.put, "/api/teams/\(unknown)/\(action)")
                #expect(missing.status == .notFound)
                #expect(missing.detail == "Team '\(unknown)' not found")
            }
        }
    }

    @Test("rotate-key answers a new key; grace_seconds is bounded; unknown teams are 404s")
    func rotateKey() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let rotated = try await api.admin(.post, "/api/teams/\(team.id)/rotate-key")
            #expect(rotated.status == .ok, "\(rotated.summary)")
            let key = try #require(rotated.string("virtual_key"))
            #expect(key != team.key)
            #expect(key.range(of: #"^sk-[A-Za-z0-9_-]{32,}$"#, options: .regularExpression) != nil)
            #expect(rotated.string("key_prefix").map { key.hasPrefix($0) } == true)
            #expect(rotated.json?["previous_key_expires_at"] == nil || rotated.json?["previous_key_expires_at"] is NSNull)
            // The team now shows the new key's prefix.
            let fetched = try await api.admin(.get, "/api/teams/\(team.id)")
            #expect(fetched.string("key_prefix").map { key.hasPrefix($0) } == true)

            let graced = try await api.admin(.post, "/api/teams/\(team.id)/rotate-key", #"{"grace_seconds": 3600}"#)
            #expect(graced.status == .ok)
            #expect(Fixture.isTimestamp(graced.json?["previous_key_expires_at"]))

            for body in [#"{"grace_seconds": 86401}"#, #"{"grace_seconds": -1}"#, #"{"grace_seconds": "10"}"#] {
                let refused = try await api.admin(.post, "/api/teams/\(team.id)/rotate-key", body)
                #expect(refused.status == .unprocessableContent, "\(body): \(refused.summary)")
                #expect(refused.detail?.contains("grace_seconds") == true)
            }
            let max = try await api.admin(.post, "/api/teams/\(team.id)/rotate-key", #"{"grace_seconds": 86400}"#)
            #expect(max.status == .ok)

            let unknown = Fixture.id("missing-team")
            let missing = try await api.admin(.post, "/api/teams/\(unknown)/rotate-key")
            #expect(missing.status == .notFound)
            #expect(missing.detail == "Team '\(unknown)' not found")
        }
    }

    @Test("/api/me answers the key's team, its model groups with their models, and its balance")
    func me() async throws {
        try await Caller.run { api in
            let provider = try await api.createProvider()
            let group = try await api.createModelGroup(provider: provider, models: ["alpha-large", "beta-small"])
            let team = try await api.createTeam(groups: [group], credits: 77, extra: #", "team_alias": "Me team""#)
            let me = try await api.team(team.key, .get, "/api/me")
            #expect(me.status == .ok, "\(me.summary)")
            #expect(me.string("team_id") == team.id)
            #expect(me.string("organization_id") == team.organization)
            #expect(me.string("team_alias") == "Me team")
            #expect(me.string("status") == "active")
            let groups = me.objects("model_groups")
            #expect(groups.count == 1)
            #expect(groups.first?["group_name"] as? String == group)
            #expect(groups.first?["models"] as? [String] == ["alpha-large", "beta-small"])
            #expect(me.int("credits_allocated") == 77)
            #expect(me.int("credits_remaining") == 77)
            #expect(me.int("credits_used") == 0)
            #expect(me.int("credits_reserved") == 0)
            #expect(me.string("budget_mode") == "job_based")
            #expect(!me.text.contains(team.key))
        }
    }

    @Test("/api/teams/{id}/usage: the team's own key or the admin key; bad periods 422, unknown teams 404")
    func teamUsage() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let own = try await api.team(team.key, .get, "/api/teams/\(team.id)/usage?period=\(Fixture.currentMonth)")
            #expect(own.status == .ok, "\(own.summary)")
            #expect(own.string("team_id") == team.id)
            #expect(own.string("organization_id") == team.organization)
            #expect(own.string("period") == Fixture.currentMonth)
            #expect(TestResponse.int((own.json?["jobs"] as? [String: Any])?["total"]) == 0)
            #expect(own.int("credits_used") == 0)
            #expect(own.objects("teams").compactMap { $0["team_id"] as? String } == [team.id])

            let daily = try await api.admin(.get, "/api/teams/\(team.id)/usage?period=\(Fixture.today)")
            #expect(daily.status == .ok, "\(daily.summary)")
            #expect(daily.string("period") == Fixture.today)

            for period in ["", "2026-13", "yesterday"] {
                let bad = try await api.team(team.key, .get, "/api/teams/\(team.id)/usage?period=\(period)")
                #expect(bad.status == .unprocessableContent, "period=\(period): \(bad.summary)")
                #expect(bad.detail?.contains("period") == true)
            }

            let unknown = Fixture.id("missing-team")
            let missing = try await api.admin(.get, "/api/teams/\(unknown)/usage?period=\(Fixture.currentMonth)")
            #expect(missing.status == .notFound)
            #expect(missing.detail == "Team '\(unknown)' not found")
        }
    }
}
