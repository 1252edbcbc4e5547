import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Shared
import Testing

@testable import API

/// Lengths are counted as PostgreSQL's `length(...)` CHECKs count them, in code points: a value
/// of one grapheme cluster made of 151 code points is a 422 naming its field, never a 500 from
/// the database (nor, in a batch, the failure of every other job).
@Suite("Lengths in code points, as PostgreSQL's CHECKs count them")
struct CodePointLengthTests {
    /// "e" and 150 combining acute accents: one `Character`, 151 code points.
    static let stackedJobType = "e" + String(repeating: "\u{0301}", count: 150)

    static func job(_ team: String, _ group: String, jobType: String = "t") -> String {
        #"{"team_id": "\#(team)", "job_type": "\#(jobType)", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}]}"#
    }

    @Test("a job_type of one character but 151 code points: 422 naming the field, as a single submit and as one batch item")
    func jobType() async throws {
        #expect(Self.stackedJobType.count == 1)
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 100)
            let single = try await api.team(team.key, .post, "/api/jobs/create", Self.job(team.id, group, jobType: Self.stackedJobType))
            #expect(single.status == .unprocessableContent, "\(single.summary)")
            #expect(single.detail == "Field 'job_type' must be 1-100 characters")
            #expect(try await BatchTests.jobCount(team.id) == 0)

            let batch = BatchTests.batch([
                Self.job(team.id, group), Self.job(team.id, group, jobType: Self.stackedJobType), Self.job(team.id, group),
            ])
            let answer = try await api.team(team.key, .post, "/api/jobs/batch", batch)
            #expect(answer.status == .accepted, "\(answer.summary)")
            let entries = BatchTests.entries(answer)
            try #require(entries.count == 3)
            #expect(entries[0]["status"] as? String == "queued")
            #expect(entries[2]["status"] as? String == "queued")
            let error = entries[1]["error"] as? [String: Any]
            #expect(error?["status"] as? Int == 422)
            #expect(error?["detail"] as? String == "Field 'job_type' must be 1-100 characters")
            #expect(try await BatchTests.jobCount(team.id) == 2)
            try await BatchBoundsTests.dequeue(team.id)
        }
    }

    @Test("names, reasons and user ids count code points too")
    func otherFields() throws {
        let stacked = "e" + String(repeating: "\u{0301}", count: 200)
        #expect(throws: APIError.lengthNotBetweenOneAnd(200, field: "name")) { try Validate.name(stacked, field: "name") }
        #expect(throws: APIError.longerThan(200, field: "user_id")) { try Validate.optionalName(stacked, field: "user_id") }
        #expect(throws: APIError.longerThan(500, field: "reason")) {
            try Validate.optionalName("e" + String(repeating: "\u{0301}", count: 500), field: "reason", max: 500)
        }
        try Validate.name("e" + String(repeating: "\u{0301}", count: 199), field: "name")
    }

    @Test("a CHECK violation on a value the client sent is a 422; any other CHECK stays a 500")
    func checkViolationMapping() {
        let clients = PostgresError.server(
            sqlState: "23514",
            message: #"new row for relation "jobs" violates check constraint "jobs_job_type_check""#,
            detail: nil
        )
        #expect(APIError(answering: clients, logger: nil) == .valueNotStorable)
        let ours = PostgresError.server(
            sqlState: "23514",
            message: #"new row for relation "credit_accounts" violates check constraint "credit_accounts_check""#,
            detail: nil
        )
        #expect(APIError(answering: ours, logger: nil) == .internalError)
        let hash = PostgresError.server(
            sqlState: "23514",
            message: #"new row for relation "team_keys" violates check constraint "team_keys_key_hash_check""#,
            detail: nil
        )
        #expect(APIError(answering: hash, logger: nil) == .internalError)
    }
}
