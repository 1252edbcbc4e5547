import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API

@Suite("Organizations: create, read, list, their teams and usage")
struct OrganizationTests {
    @Test("create answers the organization; a second create with the same id is a 409")
    func create() async throws {
        try await Caller.run { api in
            let id = Fixture.id("org")
            let body = #"{"organization_id": "\#(id)", "name": "Acme Research", "metadata": {"tier": "gold", "seats": 12}}"#
            let created = try await api.admin(.post, "/api/organizations/create", body)
            #expect(created.status == .ok, "\(created.summary)")
            #expect(created.string("organization_id") == id)
            #expect(created.string("name") == "Acme Research")
            let metadata = created.json?["metadata"] as? [String: Any]
            #expect(metadata?["tier"] as? String == "gold")
            #expect(TestResponse.int(metadata?["seats"]) == 12)
            #expect(Fixture.isTimestamp(created.json?["created_at"]), "created_at: \(String(describing: created.json?["created_at"]))")
            #expect(Fixture.isTimestamp(created.json?["updated_at"]))
            #expect(created.headers[.contentType]?.hasPrefix("application/json") == true)

            let again = try await api.admin(.post, "/api/organizations/create", #"{"organization_id": "\#(id)", "name": "Other"}"#)
            #expect(again.status == .conflict)
            #expect(again.detail == "Organization with ID '\(id)' already exists")

            // The first one is unchanged.
            let fetched = try await api.admin(.get, "/api/organizations/\(id)")
            #expect(fetched.string("name") == "Acme Research")
        }
    }

    @Test("metadata is optional and defaults to an empty object")
    func metadataOptional() async throws {
        try await Caller.run { api in
            let id = Fixture.id("org")
            let created = try await api.admin(.post, "/api/organizations/create", #"{"organization_id": "\#(id)", "name": "No metadata"}"#)
            #expect(created.status == .ok)
            #expect((created.json?["metadata"] as? [String: Any])?.isEmpty == true)
        }
    }

    @Test("create refuses invalid fields with a 422 naming the field, and creates nothing")
    func createValidation() async throws {
        try await Caller.run { api in
            let id = Fixture.id("org")
            let cases: [(body: String, field: String)] = [
                (#"{"name": "x"}"#, "organization_id"),
                (#"{"organization_id": "\#(id)"}"#, "name"),
                (#"{"organization_id": "\#(id)", "name": "   "}"#, "name"),
                (#"{"organization_id": "\#(id)", "name": "\#(String(repeating: "n", count: 201))"}"#, "name"),
                (#"{"organization_id": "has space \#(id)", "name": "x"}"#, "organization_id"),
                (#"{"organization_id": "", "name": "x"}"#, "organization_id"),
                (#"{"organization_id": 42, "name": "x"}"#, "organization_id"),
                (#"{"organization_id": "\#(id)", "name": ["x"]}"#, "name"),
                (#"{"organization_id": "\#(id)", "name": "x", "metadata": "not an object"}"#, "metadata"),
                (#"{"organization_id": "\#(id)", "name": "x", "metadata": [1, 2]}"#, "metadata"),
            ]
            for (body, field) in cases {
                let response = try await api.admin(.post, "/api/organizations/create", body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.summary)")
                #expect(response.detail?.contains(field) == true, "\(body): \(response.summary)")
            }
            let fetched = try await api.admin(.get, "/api/organizations/\(id)")
            #expect(fetched.status == .notFound)
        }
    }

    @Test("get answers one organization; an unknown id is a 404")
    func get() async throws {
        try await Caller.run { api in
            let id = try await api.createOrganization(name: "Findable")
            let fetched = try await api.admin(.get, "/api/organizations/\(id)")
            #expect(fetched.status == .ok)
            #expect(fetched.string("organization_id") == id)
            #expect(fetched.string("name") == "Findable")

            let unknown = Fixture.id("missing-org")
            let missing = try await api.admin(.get, "/api/organizations/\(unknown)")
            #expect(missing.status == .notFound)
            #expect(missing.detail == "Organization '\(unknown)' not found")
        }
    }

    @Test("list pages through every organization exactly once with the opaque cursor")
    func list() async throws {
        try await Caller.run { api in
            var mine: Set<String> = []
            for _ in 0..<3 { mine.insert(try await api.createOrganization()) }

            let first = try await api.admin(.get, "/api/organizations?limit=1")
            #expect(first.status == .ok)
            #expect(first.objects("organizations").count == 1)
            #expect(first.json?["next_cursor"] is String, "at least three organizations exist: \(first.summary)")

            let (rows, _) = try await api.walk("/api/organizations", key: "organizations", limit: 100)
            let ids = rows.compactMap { $0["organization_id"] as? String }
            #expect(ids.count == rows.count)
            #expect(Set(ids).count == ids.count, "an organization was listed twice")
            for id in mine {
                #expect(ids.filter { $0 == id }.count == 1, "\(id) listed once")
            }
        }
    }

    @Test("list clamps limit to 100 and refuses a bad limit or cursor")
    func listQuery() async throws {
        try await Caller.run { api in
            let big = try await api.admin(.get, "/api/organizations?limit=100000")
            #expect(big.status == .ok)
            #expect(big.objects("organizations").count <= 100)
            #expect(big.objects("organizations").count < 100 || big.json?["next_cursor"] is String)

            for query in ["limit=0", "limit=-3", "limit=abc", "cursor=%21%21not-a-cursor%21%21"] {
                let response = try await api.admin(.get, "/api/organizations?\(query)")
                #expect(response.status == .unprocessableContent, "\(query): \(response.summary)")
            }
        }
    }

    @Test("the organization's teams, with their credits and never a key")
    func teams() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let other = try await api.createOrganization()
            let a = try await api.createTeam(organization: org, credits: 10)
            let b = try await api.createTeam(organization: org, credits: 20)
            let elsewhere = try await api.createTeam(organization: other, credits: 30)

            let response = try await api.admin(.get, "/api/organizations/\(org)/teams")
            #expect(response.status == .ok, "\(response.summary)")
            let teams = response.objects("teams")
            #expect(Set(teams.compactMap { $0["team_id"] as? String }) == [a.id, b.id])
            for team in teams {
                #expect(team["organization_id"] as? String == org)
                #expect(team["virtual_key"] == nil || team["virtual_key"] is NSNull)
                let expected = team["team_id"] as? String == a.id ? 10 : 20
                #expect(TestResponse.int(team["credits_allocated"]) == expected)
                #expect(TestResponse.int(team["credits_remaining"]) == expected)
                #expect(TestResponse.int(team["credits_used"]) == 0)
                #expect(TestResponse.int(team["credits_reserved"]) == 0)
            }
            for key in [a.key, b.key, elsewhere.key] { #expect(!response.text.contains(key)) }

            let unknown = Fixture.id("missing-org")
            let missing = try await api.admin(.get, "/api/organizations/\(unknown)/teams")
            #expect(missing.status == .notFound)
            #expect(missing.detail == "Organization '\(unknown)' not found")
        }
    }

    @Test("usage by month: jobs, credits, tokens and cost, per team and in total")
    func usageByMonth() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let a = try await api.createTeam(organization: org)
            let b = try await api.createTeam(organization: org)
            let other = try await api.createTeam()

            let response = try await api.admin(.get, "/api/organizations/\(org)/usage?period=\(Fixture.currentMonth)")
            #expect(response.status == .ok, "\(response.summary)")
            #expect(response.string("organization_id") == org)
            #expect(response.string("period") == Fixture.currentMonth)
            let jobs = response.json?["jobs"] as? [String: Any]
            #expect(TestResponse.int(jobs?["total"]) == 0)
            #expect(TestResponse.int(jobs?["completed"]) == 0)
            #expect(TestResponse.int(jobs?["failed"]) == 0)
            #expect(response.int("credits_used") == 0)
            let tokens = response.json?["tokens"] as? [String: Any]
            #expect(TestResponse.int(tokens?["total"]) == 0)
            #expect((response.json?["cost_usd"] as? NSNumber)?.doubleValue == 0)
            let lines = response.objects("teams")
            #expect(Set(lines.compactMap { $0["team_id"] as? String }) == [a.id, b.id])
            #expect(!lines.contains { $0["team_id"] as? String == other.id })
            for line in lines {
                #expect(line["jobs"] is [String: Any])
                #expect(line["tokens"] is [String: Any])
                #expect(line["cost_usd"] is NSNumber)
                #expect(line["credits_used"] is NSNumber)
            }
        }
    }

    @Test("usage periods are UTC months or days: their bounds")
    func usagePeriodBounds() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let month = try await api.admin(.get, "/api/organizations/\(org)/usage?period=2024-02")
            #expect(month.status == .ok, "\(month.summary)")
            #expect(month.string("period") == "2024-02")
            #expect(month.string("start") == "2024-02-01T00:00:00.000Z")
            #expect(month.string("end") == "2024-03-01T00:00:00.000Z")

            let day = try await api.admin(.get, "/api/organizations/\(org)/usage?period=2024-02-29")
            #expect(day.status == .ok, "\(day.summary)")
            #expect(day.string("period") == "2024-02-29")
            #expect(day.string("start") == "2024-02-29T00:00:00.000Z")
            #expect(day.string("end") == "2024-03-01T00:00:00.000Z")

            let december = try await api.admin(.get, "/api/organizations/\(org)/usage?period=2025-12")
            #expect(december.string("end") == "2026-01-01T00:00:00.000Z")

            let today = try await api.admin(.get, "/api/organizations/\(org)/usage?period=\(Fixture.today)")
            #expect(today.status == .ok)
        }
    }

    @Test("a missing or malformed usage period is a 422; an unknown organization a 404")
    func usageBadPeriod() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let missing = try await api.admin(.get, "/api/organizations/\(org)/usage")
            #expect(missing.status == .unprocessableContent)
            #expect(missing.detail?.contains("period") == true)
            for period in [
                "", "2026", "2026-13", "2026-00", "2025-02-29", "2026-04-31", "2026-01-01-01", "abcd-ef", "26-01",
                "2026/01", "2026-01-01T00:00:00Z", "%27%3B%20DROP%20TABLE%20jobs%3B%20--",
            ] {
                let response = try await api.admin(.get, "/api/organizations/\(org)/usage?period=\(period)")
                #expect(response.status == .unprocessableContent, "period=\(period): \(response.summary)")
                #expect(response.detail?.contains("period") == true, "period=\(period): \(response.summary)")
            }

            let unknown = Fixture.id("missing-org")
            let notFound = try await api.admin(.get, "/api/organizations/\(unknown)/usage?period=\(Fixture.currentMonth)")
            #expect(notFound.status == .notFound)
            #expect(notFound.detail == "Organization '\(unknown)' not found")
        }
    }

    @Test("usage periods must be written YYYY-MM or YYYY-MM-DD exactly")
    func usageStrictPeriod() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            // Not YYYY-MM: single-digit or signed months and days.
            for period in ["2026-1", "2026-01-1", "2026-%2B1", "2026-+1"] {
                let response = try await api.admin(.get, "/api/organizations/\(org)/usage?period=\(period)")
                #expect(response.status == .unprocessableContent, "period=\(period): \(response.summary)")
            }
        }
    }
}
