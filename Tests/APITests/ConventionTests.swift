import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API

/// API.md's conventions where the service departs from them today (each a known issue).
@Suite("HTTP conventions of the tenancy API")
struct ConventionTests {
    @Test("a list's last page carries \"next_cursor\": null")
    func nextCursorNull() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let team = try await api.createTeam(organization: org)
            let lists = [
                "/api/teams?organization_id=\(org)", "/api/organizations/\(org)/teams", "/api/model-groups", "/api/providers",
                "/api/credits/teams/\(team.id)/transactions",
            ]
            for path in lists {
                let response = try await api.admin(.get, path)
                #expect(response.status == .ok)
                #expect(response.isNull("next_cursor"))
                #expect(response.json?["next_cursor"] is NSNull, "\(path): \(response.summary)")
            }
        }
    }

    @Test("a JSON number that does not fit the field's type is a 422 naming the field, not a 400")
    func numberOutOfType() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 10)
            let cases: [(String, String, String)] = [
                ("/api/credits/teams/\(team.id)/add", #"{"credits": 2.5}"#, "credits"),
                ("/api/credits/teams/\(team.id)/add", #"{"credits": 1e400}"#, "credits"),
                ("/api/credits/teams/\(team.id)/add", #"{"credits": 9223372036854775808}"#, "credits"),
                ("/api/credits/teams/\(team.id)/adjust", #"{"credits": 1.5, "reason": "x"}"#, "credits"),
                (
                    "/api/teams/create",
                    #"{"organization_id": "\#(team.organization)", "team_id": "\#(Fixture.id("team"))", "model_groups": [], "credits_allocated": 1.5}"#,
                    "credits_allocated"
                ),
            ]
            for (path, body, field) in cases {
                let response = try await api.admin(.post, path, body)
                #expect(response.status.code / 100 == 4, "\(body): \(response.summary)")
                #expect(response.status == .unprocessableContent, "\(body): \(response.summary)")
                #expect(response.detail?.contains(field) == true, "\(body): \(response.summary)")
            }
            #expect(try await api.remaining(team.id) == 10)
        }
    }

    @Test("a body with a trailing comma is not JSON: 400, and nothing is created")
    func trailingComma() async throws {
        try await Caller.run { api in
            let id = Fixture.id("org")
            let response = try await api.admin(.post, "/api/organizations/create", #"{"organization_id": "\#(id)", "name": "x",}"#)
            let fetched = try await api.admin(.get, "/api/organizations/\(id)")
            #expect(response.status == .badRequest, "\(response.summary)")
            #expect(fetched.status == .notFound)
        }
    }
}
