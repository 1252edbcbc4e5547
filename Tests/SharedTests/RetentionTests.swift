import Foundation
import Logging
import Postgres
import Redis
import Testing

@testable import Shared

/// Retention (`teams.retention_days`) in the sweeper: contents of jobs that ended longer ago are
/// erased a small batch at a time, their files deleted, and nothing that accounts for them
/// (status, usage, costs, ledger rows) changes. Part of the serialized sweeper suite, since the
/// sweeper's reads span the database.
extension SweeperTests {
    /// Ends `ids` as `completed` `daysAgo` days ago, with a result to erase.
    private func endJobs(_ ids: [UUID], daysAgo: Double, _ context: Context) async throws {
        try await context.postgres.query(
            """
            UPDATE jobs SET status = 'completed', result = '{"content": "secret answer"}'::jsonb, prompt_tokens = 5,
                   completion_tokens = 7, credits_charged = 1,
                   completed_at = now() - make_interval(secs => $2), updated_at = now()
            WHERE job_id = ANY($1::text[]::uuid[])
            """,
            [.textArray(ids.map(\.lowercasedString)), .double(daysAgo * 86_400)]
        )
    }

    private func ledger(_ context: Context) async throws -> [String] {
        try await context.postgres.query(
            "SELECT transaction_id::text || credits_amount::text AS row FROM credit_ledger WHERE team_id = $1 ORDER BY sequence",
            [.text(context.team)]
        ).map { try $0.decode("row") }
    }

    /// How many of `ids` have had their contents erased.
    private func erased(_ ids: [UUID], _ context: Context) async throws -> Int {
        try await context.postgres.query(
            "SELECT count(*) AS n FROM jobs WHERE job_id = ANY($1::text[]::uuid[]) AND content_erased_at IS NOT NULL",
            [.textArray(ids.map(\.lowercasedString))]
        ).first!.decode("n")
    }

    private func retentionSweeper(_ context: Context, batch: Int, batches: Int) -> Sweeper {
        Sweeper(
            jobs: context.store,
            queue: context.queue,
            workers: nil,
            documents: PostgresDocumentStore(postgres: context.postgres),
            contents: context.store,
            retentionBatch: batch,
            retentionBatches: batches,
            interval: .seconds(1),
            logger: .init(label: "retention-test")
        )
    }

    @Test("retention erases the contents and files of jobs ended past retention_days, keeps the rest and the ledger")
    func retentionErasesOldContents() async throws {
        let context = try await Self.context()
        try await context.postgres.query("UPDATE teams SET retention_days = 1 WHERE team_id = $1", [.text(context.team)])
        let ids = try await context.submit(4)
        let old = Array(ids[0..<3])
        let recent = ids[3]
        try await endJobs(old, daysAgo: 2, context)
        try await endJobs([recent], daysAgo: 0.5, context)
        try await context.postgres.query(
            "INSERT INTO documents (document_id, team_id, status, kind, byte_size, sha256) VALUES ($1, $2, 'attached', 'text', 3, $3)",
            [.uuid(old[0]), .text(context.team), .bytea([UInt8](repeating: 1, count: 32))]
        )
        try await context.postgres.query("INSERT INTO document_parts (document_id, part_number, bytes) VALUES ($1, 0, '\\x616263')", [.uuid(old[0])])
        let ledgerBefore = try await ledger(context)

        // Batches of two, one batch a sweep: no sweep erases more than two, and the backlog is
        // worked off over several. Retention spans every team of the database, and other suites
        // run beside this one (a live app's sweeper among them, which may erase some of these
        // too), so the count is a bound and this team's jobs are what is checked (a run once met
        // two other jobs due, and erased five in three sweeps).
        var sweeps = 0
        while try await erased(old, context) < old.count {
            let report = try #require(try await retentionSweeper(context, batch: 2, batches: 1).sweepOnce())
            #expect(report.contentsErased <= 2)
            sweeps += 1
            try #require(sweeps <= 20, "three jobs past retention were not erased in 20 sweeps")
        }

        let rows = try await context.postgres.query(
            """
            SELECT job_id, status, request IS NULL AS no_request, result IS NULL AS no_result, content_erased_at IS NOT NULL AS erased,
                   prompt_tokens, credits_charged
            FROM jobs WHERE job_id = ANY($1::text[]::uuid[])
            """,
            [.textArray(ids.map(\.lowercasedString))]
        )
        for row in rows {
            let id: UUID = try row.decode("job_id")
            let erased: Bool = try row.decode("erased")
            #expect(erased == (id != recent), "\(id)")
            #expect(try row.decode("no_request", as: Bool.self) == (id != recent))
            #expect(try row.decode("no_result", as: Bool.self) == (id != recent))
            // What accounts for the job stays.
            #expect(try row.decode("status", as: String.self) == "completed")
            #expect(try row.decode("prompt_tokens", as: Int.self) == 5)
            #expect(try row.decode("credits_charged", as: Int.self) == 1)
        }
        let documents = try await context.postgres.query("SELECT count(*) AS n FROM documents WHERE document_id = $1", [.uuid(old[0])])
        #expect(try documents.first?.decode("n", as: Int.self) == 0)
        #expect(try await ledger(context) == ledgerBefore)
        try await context.shutdown()
    }

    @Test("a team without retention_days keeps its ended jobs' contents")
    func noRetentionKeepsContents() async throws {
        let context = try await Self.context()
        let ids = try await context.submit(1)
        try await endJobs(ids, daysAgo: 400, context)
        _ = try await retentionSweeper(context, batch: 100, batches: 10).sweepOnce()
        let row = try #require(
            try await context.postgres.query("SELECT content_erased_at IS NULL AS kept FROM jobs WHERE job_id = $1", [.uuid(ids[0])]).first
        )
        #expect(try row.decode("kept", as: Bool.self))
        try await context.shutdown()
    }

    @Test("a keyed batch's answer is forgotten after a week, not before")
    func batchAnswersForgotten() async throws {
        let context = try await Self.context()
        for (key, age) in [("old", 8 * 86_400.0), ("fresh", 6 * 86_400.0)] {
            try await context.postgres.query(
                """
                INSERT INTO job_batches (team_id, idempotency_key, request_hash, answer, created_at)
                VALUES ($1, $2, '\\x00', '{"jobs": []}', now() - make_interval(secs => $3))
                """,
                [.text(context.team), .text(key), .double(age)]
            )
        }
        let report = try #require(try await context.sweeper().sweepOnce())
        #expect(report.batchAnswersForgotten >= 1)
        let keys = try await context.postgres.query(
            "SELECT idempotency_key FROM job_batches WHERE team_id = $1",
            [.text(context.team)]
        ).map { try $0.decode("idempotency_key", as: String.self) }
        #expect(keys == ["fresh"])
        try await context.shutdown()
    }

    @Test("a job retried after retention picked it stays whole: the erase re-checks under the lock")
    func retriedJobIsNotErased() async throws {
        let context = try await Self.context()
        try await context.postgres.query("UPDATE teams SET retention_days = 1 WHERE team_id = $1", [.text(context.team)])
        let ids = try await context.submit(2)
        try await endJobs(ids, daysAgo: 2, context)
        let due = try await context.store.pastRetention(limit: 100)
        #expect(Set(ids).isSubset(of: Set(due)))
        // An admin retries one between the read and the erase: it is live again.
        try await context.postgres.query(
            "UPDATE jobs SET status = 'queued', completed_at = NULL, result = NULL WHERE job_id = $1",
            [.uuid(ids[0])]
        )
        let erased = try await context.store.eraseContents(of: due)
        #expect(erased.contains(ids[1]) && !erased.contains(ids[0]))
        let kept = try #require(
            try await context.postgres.query("SELECT request IS NOT NULL AS has_request FROM jobs WHERE job_id = $1", [.uuid(ids[0])]).first
        )
        #expect(try kept.decode("has_request", as: Bool.self))
        try await context.shutdown()
    }

    @Test("ended webhook deliveries leave the log after 30 days; pending ones and recent ones stay")
    func deliveryLogForgotten() async throws {
        let context = try await Self.context()
        for (status, days) in [("delivered", 31.0), ("failed", 31.0), ("pending", 31.0), ("delivered", 1.0)] {
            try await context.postgres.query(
                """
                INSERT INTO webhook_deliveries (team_id, event, payload, status, delivered_at, created_at)
                VALUES ($1, 'credits.low', '{}', $2, CASE WHEN $2 = 'delivered' THEN now() END, now() - make_interval(secs => $3))
                """,
                [.text(context.team), .text(status), .double(days * 86_400)]
            )
        }
        let sweeper = Sweeper(
            jobs: context.store,
            queue: context.queue,
            workers: nil,
            webhookLog: PostgresWebhookStore(postgres: context.postgres),
            interval: .seconds(1),
            logger: .init(label: "retention-test")
        )
        let report = try #require(try await sweeper.sweepOnce())
        #expect(report.deliveriesForgotten >= 2)
        let left = try await context.postgres.query(
            "SELECT status FROM webhook_deliveries WHERE team_id = $1 ORDER BY status",
            [.text(context.team)]
        ).map { try $0.decode("status", as: String.self) }
        #expect(left == ["delivered", "pending"])
        try await context.shutdown()
    }

    @Test("an ordinary sweep corrects a concurrency cap Redis holds differently from PostgreSQL")
    func capsReconciledEverySweep() async throws {
        let context = try await Self.context()
        try await context.postgres.query("UPDATE teams SET max_concurrent_jobs = 5 WHERE team_id = $1", [.text(context.team)])
        // Redis heard an older change last (two PUTs reaching it in the other order).
        try await context.queue.setConcurrencyCap(teamID: context.team, cap: 2)
        let report = try #require(try await context.sweeper().sweepOnce())
        #expect(report.capsCorrected >= 1)
        let cap = try await context.redis.send("HGET", RedisArgument(context.queue.keys.caps), RedisArgument(context.team))
        #expect(cap.string == "5")
        try await context.shutdown()
    }
}
