import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Shared
import Testing

@testable import API

/// Every 422 of `POST /api/jobs/create` (each check of `SubmitRequest.validated()` and the decoder's
/// type checks) and its 3 MiB 413: the answer names the field, and nothing is written.
@Suite("Submit: each 422 names its field; the 3 MiB limit is a 413")
struct SubmitValidationTests {
    @Test("every validation of a submit body is a 422 naming the field; no job, no reservation")
    func everyValidation() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 100)
            let messages = #""messages": [{"role": "user", "content": "hi"}]"#
            func body(_ fields: String, model: Bool = true, work: Bool = true) -> String {
                var parts = [#""team_id": "\#(team.id)""#, #""job_type": "t""#]
                if model { parts.append(#""model": "\#(group)""#) }
                if work { parts.append(messages) }
                if !fields.isEmpty { parts.append(fields) }
                return "{" + parts.joined(separator: ", ") + "}"
            }
            let cases: [(String, String)] = [
                (#"{"team_id": "bad id!", "job_type": "t"}"#, "Field 'team_id' must be 1-64 characters of letters, digits, '-', '_' or '.'"),
                (#"{"team_id": "\#(team.id)", "job_type": ""}"#, "Field 'job_type' must be 1-100 characters"),
                (#"{"team_id": "\#(team.id)", "job_type": "\#(String(repeating: "j", count: 101))"}"#, "Field 'job_type' must be 1-100 characters"),
                (#"{"team_id": "\#(team.id)"}"#, "Field 'job_type' is required"),
                (#"{"job_type": "t"}"#, "Field 'team_id' is required"),
                (body(#""user_id": "\#(String(repeating: "u", count: 201))""#), "Field 'user_id' must be at most 200 characters"),
                (body(#""metadata": {"blob": "\#(String(repeating: "m", count: 17 * 1024))"}"#), "Field 'metadata' must be at most 16 KiB of JSON"),
                (body(#""metadata": [1]"#), "Field 'metadata' must be an object"),
                (body(#""priority": 10"#), "Field 'priority' must be between 0 and 9"),
                (body(#""priority": -1"#), "Field 'priority' must be between 0 and 9"),
                (body(#""priority": "high""#), "Field 'priority' must be an integer"),
                (body(#""priority": 1e400"#), "Field 'priority' must be an integer"),
                (body(#""expires_in_seconds": 59"#), "Field 'expires_in_seconds' must be between 60 and 604800"),
                (body(#""expires_in_seconds": 604801"#), "Field 'expires_in_seconds' must be between 60 and 604800"),
                (body(#""max_tokens": 0"#), "Field 'max_tokens' must be between 1 and 1000000"),
                (body(#""max_tokens": 1000001"#), "Field 'max_tokens' must be between 1 and 1000000"),
                (body(#""max_tokens": 9223372036854775808"#), "Field 'max_tokens' must be an integer"),
                (body(#""temperature": 2.5"#), "Field 'temperature' must be between 0 and 2"),
                (body(#""temperature": -0.1"#), "Field 'temperature' must be between 0 and 2"),
                (body(#""top_p": 1.5"#), "Field 'top_p' must be between 0 and 1"),
                (body(#""allow_partial": "yes""#), "Field 'allow_partial' must be a boolean"),
                (body("", model: false), "Field 'model' is required with 'messages' or 'document'"),
                (body(#""document": "d""#, model: false, work: false), "Field 'model' is required with 'messages' or 'document'"),
                (
                    #"{"team_id": "\#(team.id)", "job_type": "t", "model": "no such group!", \#(messages)}"#,
                    "Field 'model' must be 1-64 characters of letters, digits, '-', '_' or '.'"
                ),
                (body("", work: false), "Field 'messages' or 'document' is required with 'model'"),
                (body(#""document": "d""#), "Provide either 'messages' or 'document', not both"),
                (body(#""messages": []"#, work: false), "Field 'messages' must hold at least one message"),
                (body(#""messages": "hi""#, work: false), "Field 'messages' must be an array"),
                (
                    body(#""messages": [\#((0...10_000).map { _ in "{}" }.joined(separator: ","))]"#, work: false),
                    "Field 'messages' must hold at most 10000 messages"
                ),
                (body(#""messages": ["hi"]"#, work: false), "Field 'messages[0]' must be an object"),
                (
                    body(#""messages": [{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}]"#, work: false),
                    "Field 'messages[1].role' must be one of system, developer, user, assistant, tool"
                ),
                (
                    body(#""messages": [{"content": "a"}]"#, work: false),
                    "Field 'messages[0].role' must be one of system, developer, user, assistant, tool"
                ),
                (body(#""messages": [{"role": "user"}]"#, work: false), "Field 'messages[0].content' is required"),
                (body(#""messages": [{"role": "assistant", "content": null}]"#, work: false), "Field 'messages[0].content' is required"),
                (
                    body(#""messages": [{"role": "user", "content": 5}]"#, work: false),
                    "Field 'messages[0].content' must be a string or an array of parts"
                ),
                (body(#""document": """#, work: false), "Field 'document' must not be empty"),
                (
                    body(#""document": "d", "instructions": "\#(String(repeating: "i", count: 100_001))""#, work: false),
                    "Field 'instructions' must be at most 100000 bytes"
                ),
                (
                    body(#""document": "\#(String(repeating: "d", count: (2 << 20) + 1))""#, work: false),
                    "Field 'document' must be at most 2 MiB of UTF-8 text"
                ),
            ]
            for (json, detail) in cases {
                let response = try await api.team(team.key, .post, "/api/jobs/create", json)
                #expect(response.status == .unprocessableContent, "\(json.prefix(200)): \(response.summary)")
                #expect(response.detail == detail, "\(json.prefix(200)): \(response.summary)")
            }
            #expect(try await Database.int("SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(team.id)]) == 0)
            #expect(try await api.remaining(team.id) == 100)
            // The valid body the cases start from is accepted.
            #expect(try await api.team(team.key, .post, "/api/jobs/create", body("")).status == .accepted)
        }
    }

    @Test("a submit body over 3 MiB is a 413; up to it is read")
    func bodyLimit() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 100)
            let over = String(repeating: "p", count: 3 << 20)
            let response = try await api.team(
                team.key,
                .post,
                "/api/jobs/create",
                #"{"team_id": "\#(team.id)", "job_type": "t", "model": "\#(group)", "document": "d", "pad": "\#(over)"}"#
            )
            #expect(response.status == .contentTooLarge, "\(response.summary)")
            #expect(response.detail == "Request body is larger than the limit of \(3 << 20) bytes")
            #expect(try await Database.int("SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(team.id)]) == 0)
            // 2.5 MiB (over the 1 MiB of other routes) is read and judged on its content.
            let under = String(repeating: "p", count: 5 << 19)
            let read = try await api.team(
                team.key,
                .post,
                "/api/jobs/create",
                #"{"team_id": "\#(team.id)", "job_type": "", "pad": "\#(under)"}"#
            )
            #expect(read.status == .unprocessableContent, "\(read.summary)")
            #expect(read.detail == "Field 'job_type' must be 1-100 characters")
        }
    }
}
