import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Shared
import Testing

@testable import API

/// `POST /api/jobs/estimate` (API.md, Batches, estimates…): the reservation a submit of the same
/// body then takes, its planned calls and worst case, and nothing stored.
@Suite("Estimates: what a submit would reserve, storing nothing")
struct EstimateTests {
    /// A group of one model with a small context, so that a document takes several calls.
    static func documentGroup(_ api: Caller, contextTokens: Int) async throws -> String {
        let provider = try await api.createProvider()
        let name = Fixture.id("docs")
        let body =
            #"{"group_name": "\#(name)", "models": [{"model_name": "m", "provider": "\#(provider)", "priority": 0, "input_price_per_million": 3, "output_price_per_million": 15, "context_tokens": \#(contextTokens)}]}"#
        let response = try await api.admin(.post, "/api/model-groups/create", body)
        try #require(response.status == .ok, "\(response.summary)")
        return name
    }

    @Test(
        "estimate == the credits_reserved of the submit that follows, for chat and document jobs",
        arguments: [
            #", "budget_mode": "job_based""#,
            #", "budget_mode": "consumption_tokens", "tokens_per_credit": 10"#,
            #", "budget_mode": "consumption_usd", "credits_per_dollar": 100000"#,
        ]
    )
    func matchesTheSubmit(billing: String) async throws {
        try await Caller.run { api in
            let chat = try await api.createModelGroup()
            let docs = try await Self.documentGroup(api, contextTokens: 4_000)
            let team = try await api.createTeam(groups: [chat, docs], credits: 1_000_000, extra: billing)
            let document = String(repeating: "The quarterly numbers look fine and the outlook is steady. ", count: 600)
            let bodies = [
                #"{"team_id": "\#(team.id)", "job_type": "t", "model": "\#(chat)", "messages": [{"role": "user", "content": "Summarise the report, please."}], "max_tokens": 300}"#,
                #"{"team_id": "\#(team.id)", "job_type": "t", "model": "\#(chat)", "messages": [{"role": "user", "content": "hi"}]}"#,
                #"{"team_id": "\#(team.id)", "job_type": "t", "model": "\#(docs)", "document": "\#(document)", "instructions": "List the risks.", "max_tokens": 500}"#,
            ]
            for body in bodies {
                let estimate = try await api.team(team.key, .post, "/api/jobs/estimate", body)
                #expect(estimate.status == .ok, "\(estimate.summary)")
                let credits = try #require(estimate.int("credits_reserved"))
                let calls = try #require(estimate.int("calls_planned"))
                let prompt = try #require(estimate.int("prompt_tokens_estimate"))
                let cost = try #require(estimate.json?["max_cost_usd"] as? NSNumber).doubleValue
                #expect(credits >= 1 && prompt > 0 && cost > 0, "\(estimate.summary)")

                let submitted = try await api.team(team.key, .post, "/api/jobs/create", body)
                #expect(submitted.status == .accepted, "\(submitted.summary)")
                #expect(submitted.int("credits_reserved") == credits, "\(billing) \(body.prefix(80)): \(estimate.summary) vs \(submitted.summary)")
                let job = try await api.team(team.key, .get, "/api/jobs/\(submitted.string("job_id") ?? "")")
                let progress = job.json?["progress"] as? [String: Any]
                #expect(TestResponse.int(progress?["calls_planned"]) == calls, "\(job.summary)")
                if body.contains("document") { #expect(calls > 1, "the document must take several calls: \(estimate.summary)") }
            }
        }
    }

    @Test("max_cost_usd is the worst case: planned calls' prompts and max_tokens on the priciest model")
    func worstCase() async throws {
        try await Caller.run { api in
            // The fixture's models cost 1.5 and 2 USD per million tokens.
            let group = try await api.createModelGroup(models: ["a", "b"])
            let team = try await api.createTeam(groups: [group], credits: 10)
            let body =
                #"{"team_id": "\#(team.id)", "job_type": "t", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1000}"#
            let estimate = try await api.team(team.key, .post, "/api/jobs/estimate", body)
            #expect(estimate.status == .ok, "\(estimate.summary)")
            let prompt = try #require(estimate.int("prompt_tokens_estimate"))
            let cost = try #require(estimate.json?["max_cost_usd"] as? NSNumber).doubleValue
            #expect(abs(cost - (Double(prompt) * 1.5 + 1000 * 2) / 1_000_000) < 1e-12, "\(estimate.summary)")
            #expect(estimate.int("calls_planned") == 1)
            #expect(estimate.int("credits_reserved") == 1)
        }
    }

    @Test("an estimate stores nothing: no job, no reservation, no ledger row — even when credits are short")
    func storesNothing() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 0)
            let body = #"{"team_id": "\#(team.id)", "job_type": "t", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}]}"#
            let ledgerRows = try await Database.int("SELECT count(*) AS n FROM credit_ledger WHERE team_id = $1", [.text(team.id)])
            for _ in 0..<3 {
                let estimate = try await api.team(team.key, .post, "/api/jobs/estimate", body, headers: [.idempotencyKey: "same"])
                #expect(estimate.status == .ok, "\(estimate.summary)")
                #expect(estimate.int("credits_reserved") == 1)
            }
            #expect(try await Database.int("SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(team.id)]) == 0)
            #expect(try await Database.int("SELECT count(*) AS n FROM credit_ledger WHERE team_id = $1", [.text(team.id)]) == ledgerRows)
            #expect(try await api.remaining(team.id) == 0)
            // A body without work is a pending job: it would reserve nothing.
            let pending = try await api.team(team.key, .post, "/api/jobs/estimate", #"{"team_id": "\#(team.id)", "job_type": "t"}"#)
            #expect(pending.status == .ok, "\(pending.summary)")
            #expect(pending.int("credits_reserved") == 0)
            #expect(pending.int("calls_planned") == 0)
        }
    }

    @Test("an estimate refuses what a submit refuses, with the same status and sentence")
    func refusesAsSubmit() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 10)
            let other = try await api.createTeam(groups: [group], credits: 10)
            let bodies = [
                #"{"team_id": "\#(other.id)", "job_type": "t", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}]}"#,
                #"{"team_id": "\#(team.id)", "job_type": "t", "model": "not-held", "messages": [{"role": "user", "content": "hi"}]}"#,
                #"{"team_id": "\#(team.id)", "job_type": "", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}]}"#,
                #"{"team_id": "\#(team.id)", "job_type": "t", "model": "\#(group)", "messages": [{"role": "user", "content": "a\u0000"}]}"#,
                #"{"team_id": "\#(team.id)", "job_type": "t", "model": "\#(group)"}"#,
                "{nope",
            ]
            for body in bodies {
                let estimate = try await api.team(team.key, .post, "/api/jobs/estimate", body)
                let submit = try await api.team(team.key, .post, "/api/jobs/create", body)
                #expect(estimate.status.code >= 400, "\(body): \(estimate.summary)")
                #expect(estimate.status == submit.status, "\(body): \(estimate.summary) vs \(submit.summary)")
                #expect(estimate.detail == submit.detail, "\(body)")
            }
            let multipart = try await api.team(
                team.key,
                .post,
                "/api/jobs/estimate",
                "--b--\r\n",
                headers: [.contentType: "multipart/form-data; boundary=b"]
            )
            #expect(multipart.status == .unsupportedMediaType, "\(multipart.summary)")
            #expect(try await Database.int("SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(team.id)]) == 0)
        }
    }
}
