import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Shared
import Testing

@testable import API

/// Issue 8, item 1: text PostgreSQL cannot store — U+0000 and lone surrogates, written as JSON
/// escapes — anywhere in any body is a 422 naming the field, before the database sees it.
@Suite("Unstorable text: U+0000 and lone surrogates are 422s naming the field")
struct UnstorableTextTests {
    static let sentence = "must not contain U+0000 or unpaired surrogates"

    @Test("the scanner finds values and keys at any depth, and passes good escapes")
    func scanner() {
        let cases: [(String, String?)] = [
            (#"{"messages": [{"role": "user", "content": "a\u0000b"}]}"#, "messages[0].content"),
            (#"{"messages": [{"role": "user", "content": "x"}, {"role": "user", "content": "\ud800"}]}"#, "messages[1].content"),
            (#"{"metadata": {"k": "\udc00 alone"}}"#, "metadata.k"),
            (#"{"metadata": {"a\u0000": 1}}"#, #"metadata.a\u0000"#),
            (#"{"a\ud800": 1}"#, #"a\ud800"#),
            (#"{"s": "\ud800\u0041"}"#, "s"),
            (#"{"s": "\uD83D"}"#, "s"),
            (#"[{"model_name": "\u0000"}]"#, "[0].model_name"),
            (#""\u0000""#, ""),
            (#"{"s": "\ud83d\ude00 \u00e9 \\u0000 \"\u0000"}"#, "s"),
            (#"{"s": "\ud83d\ude00 \u00e9 \\u0000 \\ud800"}"#, nil),
            (#"{"s": "plain", "n": [1, 2, {"t": "\u0001"}]}"#, nil),
            (#"{"a": {"b": [[], {"c": "\u0000"}]}}"#, "a.b[1].c"),
        ]
        for (body, expected) in cases {
            #expect(UnstorableText.firstPath(Data(body.utf8)) == expected, "\(body)")
        }
    }

    @Test("submit: U+0000 or a lone surrogate in content, metadata or a key is a 422 naming it; nothing is stored")
    func submit() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 100)
            func body(_ content: String, metadata: String = "{}") -> String {
                #"{"team_id": "\#(team.id)", "job_type": "t", "model": "\#(group)", "metadata": \#(metadata), "messages": [{"role": "user", "content": "\#(content)"}]}"#
            }
            let cases: [(String, String)] = [
                (body(#"a\u0000b"#), "messages[0].content"),
                (body(#"a\ud800b"#), "messages[0].content"),
                (body(#"\udc00"#), "messages[0].content"),
                (body("ok", metadata: #"{"k": "a\u0000b"}"#), "metadata.k"),
                (body("ok", metadata: #"{"k\u0000": "v"}"#), #"metadata.k\u0000"#),
                (body("ok", metadata: #"{"list": ["x", "\ud800"]}"#), "metadata.list[1]"),
            ]
            for (json, field) in cases {
                let response = try await api.team(team.key, .post, "/api/jobs/create", json)
                #expect(response.status == .unprocessableContent, "\(json): \(response.summary)")
                #expect(response.detail == "Field '\(field)' \(Self.sentence)", "\(json): \(response.summary)")
            }
            #expect(try await Database.int("SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(team.id)]) == 0)
            #expect(try await api.remaining(team.id) == 100)
            // A proper surrogate pair is an ordinary character.
            let emoji = try await api.team(team.key, .post, "/api/jobs/create", body(#"\ud83d\ude00"#))
            #expect(emoji.status == .accepted, "\(emoji.summary)")
        }
    }

    @Test("admin bodies: organization, team, provider, model group and credits refuse unstorable text with a 422")
    func adminBodies() async throws {
        try await Caller.run { api in
            let org = try await api.createOrganization()
            let team = try await api.createTeam(organization: org, credits: 10)
            let provider = try await api.createProvider()
            let id = Fixture.id("x")
            let cases: [(HTTPRequest.Method, String, String, String)] = [
                (.post, "/api/organizations/create", #"{"organization_id": "\#(id)", "name": "a\ud800"}"#, "name"),
                (.post, "/api/organizations/create", #"{"organization_id": "\#(id)", "name": "n", "metadata": {"\udc00": 1}}"#, #"metadata.\udc00"#),
                (
                    .post, "/api/teams/create",
                    #"{"organization_id": "\#(org)", "team_id": "\#(id)", "team_alias": "\u0000", "model_groups": [], "credits_allocated": 1}"#,
                    "team_alias"
                ),
                (
                    .post, "/api/providers/create", #"{"name": "\#(id)", "kind": "openai", "base_url": "http://h.example", "api_key": "k\u0000"}"#,
                    "api_key"
                ),
                (
                    .post, "/api/model-groups/create",
                    #"{"group_name": "\#(id)", "models": [{"model_name": "m\ud800", "provider": "\#(provider)", "priority": 0}]}"#,
                    "models[0].model_name"
                ),
                (.post, "/api/credits/teams/\(team.id)/add", #"{"credits": 5, "reason": "\u0000"}"#, "reason"),
                (.post, "/api/credits/teams/\(team.id)/adjust", #"{"credits": 5, "reason": "r\udfff"}"#, "reason"),
            ]
            for (method, path, json, field) in cases {
                let response = try await api.admin(method, path, json)
                #expect(response.status == .unprocessableContent, "\(path): \(response.summary)")
                #expect(response.detail == "Field '\(field)' \(Self.sentence)", "\(path): \(response.summary)")
            }
            #expect(try await api.admin(.get, "/api/organizations/\(id)").status == .notFound)
            #expect(try await api.admin(.get, "/api/teams/\(id)").status == .notFound)
            #expect(try await api.admin(.get, "/api/providers/\(id)").status == .notFound)
            #expect(try await api.admin(.get, "/api/model-groups/\(id)").status == .notFound)
            #expect(try await api.remaining(team.id) == 10)
        }
    }

    @Test("a data exception from PostgreSQL (SQLSTATE class 22) is a 422, not a 500")
    func dataExceptionIs422() {
        for state in ["22P05", "22021", "22003", "22001"] {
            let error = APIError(
                answering: PostgresError.server(sqlState: state, message: "unsupported Unicode escape sequence", detail: nil),
                logger: nil
            )
            #expect(error.status == .unprocessableContent, "\(state)")
        }
        let other = APIError(answering: PostgresError.server(sqlState: "42P01", message: "x", detail: nil), logger: nil)
        #expect(other.status == .internalServerError)
    }

    @Test("%00 in path and query parameters is a 4xx, never a 5xx")
    func nulInPathsAndQueries() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 10)
            let job = try await api.submitChat(team, group: group)
            let jobID = try #require(job.string("job_id"))
            let adminCases: [(HTTPRequest.Method, String)] = [
                (.get, "/api/organizations/%00"), (.get, "/api/organizations/\(team.organization)%00/usage?period=2026-01"),
                (.get, "/api/organizations/\(team.organization)/usage?period=%00"),
                (.get, "/api/teams?organization_id=%00"), (.get, "/api/teams/%00"), (.put, "/api/teams/%00/suspend"),
                (.get, "/api/model-groups/%00"), (.delete, "/api/model-groups/%00"), (.get, "/api/providers/%00"),
                (.delete, "/api/providers/%00"), (.get, "/api/admin/jobs?team_id=%00"), (.get, "/api/admin/jobs?status=%00"),
                (.get, "/api/admin/jobs?cursor=%00"), (.get, "/api/admin/jobs?limit=%00"), (.get, "/api/admin/jobs/%00"),
                (.post, "/api/admin/workers/%00/drain"), (.get, "/api/credits/teams/%00/balance"),
                (.get, "/api/credits/teams/\(team.id)/transactions?cursor=%00"), (.get, "/api/admin/audit?cursor=%00"),
            ]
            for (method, path) in adminCases {
                let response = try await api.admin(method, path)
                #expect((400..<500).contains(response.status.code), "\(method) \(path): \(response.summary)")
                #expect(response.detail != nil, "\(method) \(path): \(response.summary)")
            }
            let teamCases: [(HTTPRequest.Method, String)] = [
                (.get, "/api/jobs/\(jobID)?wait=%00"), (.get, "/api/jobs/%00"), (.post, "/api/jobs/%00/cancel"),
                (.get, "/api/teams/\(team.id)/jobs?status=%00"), (.get, "/api/teams/\(team.id)/jobs?cursor=%00"),
                (.get, "/api/teams/\(team.id)/usage?period=%00"), (.get, "/api/credits/teams/\(team.id)%00/balance"),
            ]
            for (method, path) in teamCases {
                let response = try await api.team(team.key, method, path)
                #expect((400..<500).contains(response.status.code), "\(method) \(path): \(response.summary)")
                #expect(response.detail != nil, "\(method) \(path): \(response.summary)")
            }
        }
    }
}
