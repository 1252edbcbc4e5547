import Foundation
import Postgres
import Testing

@testable import Shared

/// The webhook outbox (migration 0009's trigger) as the job store drives it: the statement that
/// ends a job records its delivery, in the same transaction, only for a subscribed event and a
/// job that did not opt out.
@Suite("Webhook outbox")
struct WebhookOutboxTests {
    struct Context {
        let postgres: PostgresClient
        let jobs: PostgresJobStore
        let endpoints: PostgresWebhookStore
        let team: String

        func submit(webhook: Bool = true) async throws -> UUID {
            let submission = JobSubmission(
                teamID: team,
                jobType: "chat",
                userID: nil,
                metadata: ["order": .string("42")],
                modelGroup: "grp",
                work: JobWork(messages: [.object(["role": .string("user"), "content": .string("hi")])]),
                priority: 0,
                expiresAt: Date().addingTimeInterval(3600),
                estimate: Billing.Estimate(totalTokens: 10, maxCostUSD: 0),
                callsPlanned: 1,
                idempotencyKey: nil,
                requestHash: nil,
                webhook: webhook
            )
            for result in try await jobs.submit([submission]) { _ = try result.get() }
            return submission.jobID
        }

        /// Marks the job `in_progress` under a claim of this test's making and settles it.
        func run(_ jobID: UUID, to outcome: Settlement.Outcome) async throws -> [SettleResult] {
            let claim = Claim(jobID: jobID, token: UUID())
            let (marked, _) = try await jobs.markInProgress([claim], workerID: "outbox-test", lease: .seconds(30))
            #expect(marked.count == 1)
            return try await jobs.settle([Settlement(claim: claim, outcome: outcome, calls: [], reachedUpstream: true)])
        }

        func deliveries(_ jobID: UUID) async throws -> PostgresRows {
            try await postgres.query(
                """
                SELECT d.event, d.team_id, d.status, d.attempts, d.payload::text AS payload, d.created_at = j.completed_at AS same_time
                FROM webhook_deliveries d JOIN jobs j ON j.job_id = d.job_id WHERE d.job_id = $1
                """,
                [.uuid(jobID)]
            )
        }
    }

    /// A database of its own: the senders' store tests claim and clear every delivery of theirs.
    static func context(events: [WebhookEvent]) async throws -> Context {
        let postgres = try await TestEnvironment.ownDatabase("webhook_outbox")
        let team = "wh-\(UUID().uuidString.prefix(8).lowercased())"
        try await postgres.query(
            "INSERT INTO organizations (organization_id, name) VALUES ('webhook-org', 'webhook tests') ON CONFLICT DO NOTHING",
            []
        )
        try await postgres.query("INSERT INTO teams (team_id, organization_id) VALUES ($1, 'webhook-org')", [.text(team)])
        try await postgres.query("INSERT INTO credit_accounts (team_id, credits_allocated) VALUES ($1, 1000)", [.text(team)])
        let endpoints = PostgresWebhookStore(postgres: postgres)
        _ = try await endpoints.put(teamID: team, url: "https://hooks.example.com/x", events: events, sealedSecret: [0])
        return Context(postgres: postgres, jobs: PostgresJobStore(postgres: postgres), endpoints: endpoints, team: team)
    }

    static let completed = Settlement.Outcome.completed(
        result: .object(["content": .string("ok")]),
        usage: TokenUsage(promptTokens: 30, completionTokens: 12),
        costUSD: Decimal(string: "0.01")!,
        charge: 1
    )

    @Test("settling a job subscribed to job.completed records exactly one delivery, in the settlement's transaction")
    func completedWritesOne() async throws {
        let context = try await Self.context(events: [.jobCompleted, .jobFailed])
        let jobID = try await context.submit()
        #expect(try await context.deliveries(jobID).isEmpty)
        #expect(try await context.run(jobID, to: Self.completed) == [.settled(.completed)])
        let rows = Array(try await context.deliveries(jobID))
        try #require(rows.count == 1)
        let row = rows[0]
        #expect(try row.decode("event", as: String.self) == "job.completed")
        #expect(try row.decode("team_id", as: String.self) == context.team)
        #expect(try row.decode("status", as: String.self) == "pending")
        #expect(try row.decode("attempts", as: Int.self) == 0)
        // now() is the transaction's start: equal times are the same transaction.
        #expect(try row.decode("same_time", as: Bool.self))
        let payload = try #require(
            try JSONSerialization.jsonObject(with: Data(try row.decode("payload", as: String.self).utf8)) as? [String: Any]
        )
        #expect(payload["type"] as? String == "job.completed")
        let data = try #require(payload["data"] as? [String: Any])
        #expect(data["job_id"] as? String == jobID.lowercasedString)
        #expect(data["status"] as? String == "completed")
        #expect(data["credits_charged"] as? Int == 1)
        #expect((data["metadata"] as? [String: Any])?["order"] as? String == "42")
        #expect(data["result"] == nil, "the payload never carries content")
        let page = try await context.endpoints.deliveries(teamID: context.team, limit: 10, after: nil)
        #expect(page.items.map(\.event) == ["job.completed"])
        #expect(page.items.first?.jobID == jobID)
        context.postgres.shutdown()
    }

    @Test("a job submitted with webhook: false records no delivery")
    func optedOutWritesNone() async throws {
        let context = try await Self.context(events: [.jobCompleted])
        let jobID = try await context.submit(webhook: false)
        let stored = try await context.postgres.query("SELECT webhook FROM jobs WHERE job_id = $1", [.uuid(jobID)])
        #expect(try stored.first?.decode("webhook", as: Bool.self) == false)
        #expect(try await context.run(jobID, to: Self.completed) == [.settled(.completed)])
        #expect(try await context.deliveries(jobID).isEmpty)
        context.postgres.shutdown()
    }

    @Test("cancelling a queued job records job.cancelled")
    func cancelWritesCancelled() async throws {
        let context = try await Self.context(events: [.jobCancelled])
        let jobID = try await context.submit()
        let job = try await context.jobs.cancel(jobID)
        #expect(job.status == .cancelled)
        let rows = try await context.deliveries(jobID)
        #expect(try rows.map { try $0.decode("event", as: String.self) } == ["job.cancelled"])
        context.postgres.shutdown()
    }

    @Test("an event the endpoint did not subscribe to records nothing")
    func unsubscribedWritesNone() async throws {
        let context = try await Self.context(events: [.jobCompleted, .creditsLow])
        let jobID = try await context.submit()
        #expect(try await context.run(jobID, to: .failed(code: .upstreamError, message: "boom")) == [.settled(.failed)])
        #expect(try await context.deliveries(jobID).isEmpty)
        context.postgres.shutdown()
    }

    @Test("a new PUT replaces the URL and events; delete removes the endpoint and stops new deliveries")
    func putReplacesAndDeleteStops() async throws {
        let context = try await Self.context(events: [.jobCompleted])
        let first = try #require(try await context.endpoints.get(teamID: context.team))
        let second = try await context.endpoints.put(
            teamID: context.team,
            url: "https://other.example.com/y",
            events: [.jobFailed, .jobExpired],
            sealedSecret: [1]
        )
        #expect(second.url == "https://other.example.com/y")
        #expect(second.events == [.jobFailed, .jobExpired])
        #expect(second.createdAt == first.createdAt)
        #expect(second.updatedAt >= first.updatedAt)
        #expect(try await context.endpoints.delete(teamID: context.team))
        #expect(try await !context.endpoints.delete(teamID: context.team))
        #expect(try await context.endpoints.get(teamID: context.team) == nil)
        let jobID = try await context.submit()
        #expect(try await context.run(jobID, to: .failed(code: .upstreamError, message: "boom")) == [.settled(.failed)])
        #expect(try await context.deliveries(jobID).isEmpty)
        context.postgres.shutdown()
    }

    @Test("an unknown team's endpoint is teamNotFound")
    func unknownTeam() async throws {
        let context = try await Self.context(events: [.jobCompleted])
        await #expect(throws: DomainError.teamNotFound("wh-missing")) {
            try await context.endpoints.put(teamID: "wh-missing", url: "https://a.example.com/", events: [.jobCompleted], sealedSecret: [0])
        }
        context.postgres.shutdown()
    }

    @Test("the delivery log pages newest first with a cursor")
    func deliveriesPage() async throws {
        let context = try await Self.context(events: [.jobCancelled])
        var ids: [UUID] = []
        for _ in 0..<3 {
            let jobID = try await context.submit()
            _ = try await context.jobs.cancel(jobID)
            ids.append(jobID)
        }
        let first = try await context.endpoints.deliveries(teamID: context.team, limit: 2, after: nil)
        #expect(first.items.compactMap(\.jobID) == [ids[2], ids[1]])
        let cursor = try #require(first.nextCursor.flatMap(Cursor.decode))
        let second = try await context.endpoints.deliveries(teamID: context.team, limit: 2, after: cursor)
        #expect(second.items.compactMap(\.jobID) == [ids[0]])
        #expect(second.nextCursor == nil)
        #expect(second.items.first?.nextAttemptAt != nil)
        context.postgres.shutdown()
    }
}
