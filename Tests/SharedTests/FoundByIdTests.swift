import Foundation
import Postgres
import Testing

@testable import Shared

/// Statements that find rows by id (or by team) and also test a status a partial index is built
/// on — the ones a worker runs for every job, a listing by status, a webhook delivery's outcome,
/// an upload's attach — use their own index even when the statistics say no row is live, the
/// state after any quiet spell until the next ANALYZE, while thousands are. Planned the other way,
/// each one reads the whole partial index: a cost that grows with the backlog (see
/// ``PostgresJobStore``, "Jobs found by id"). The suite's database is its own; its tests run one
/// at a time.
@Suite("Rows found by id whatever the statistics say", .serialized)
struct FoundByIdTests {
    static let team = "by-id"

    @Test(
        "mark, renew, settle, a step, an extraction, a cancel and a listing use their own index while the statistics say the live indexes are empty"
    )
    func primaryKeyWhateverTheStatistics() async throws {
        // The other test's deliveries first: their job_id has no index, so deleting jobs under
        // them would scan them once per job.
        let postgres = try await Self.database(measuring: "jobs", emptying: ["webhook_deliveries", "jobs"])
        defer { postgres.shutdown() }
        // A quiet spell: only finished jobs when the statistics are taken.
        try await Self.insertJobs(postgres, count: 60000, status: "completed")
        try await postgres.withConnection { try await $0.executeScript("VACUUM ANALYZE jobs") }
        let seenLive = try #require(
            try await postgres.query("SELECT reltuples::bigint AS n FROM pg_class WHERE relname = 'jobs_leased'").first
        ).decode("n", as: Int.self)
        try #require(seenLive <= 0, "the statistics must say no job is leased")
        // Then a backlog the statistics know nothing of.
        try await Self.insertJobs(postgres, count: 3000, status: "queued")
        try await Self.insertJobs(postgres, count: 3000, status: "in_progress")

        let queued = try await Self.claims(postgres, status: "queued", limit: 256)
        let running = try await Self.claims(postgres, status: "in_progress", limit: 256)
        let parent = running[0].jobID
        let statements: [(String, PostgresStatement, indexes: Set<String>)] = [
            ("mark", PostgresJobStore.markStatement(queued, workerID: "w", lease: .seconds(30)), ["jobs_pkey"]),
            ("renew", PostgresJobStore.renewStatement(running, lease: .seconds(30)), ["jobs_pkey"]),
            ("settle's lock", PostgresJobStore.heldJobsStatement(running), ["jobs_pkey"]),
            ("settle's parents", PostgresJobStore.openParentsStatement(Set(running.map(\.jobID))), ["jobs_pkey"]),
            ("step", PostgresJobStore.countStepStatement(claim: running[0], reservationNumber: 1), ["jobs_pkey"]),
            ("extraction", PostgresJobStore.extractionHoldStatement(claim: running[0], reservationNumber: 1), ["jobs_pkey"]),
            ("cancel's queued calls", PostgresJobStore.cancelQueuedCallsStatement(parent: parent), ["jobs_parent"]),
            ("cancel's running calls", PostgresJobStore.cancelRunningCallsStatement(parent: parent), ["jobs_parent"]),
            (
                "a team's queued jobs, listed",
                PostgresJobStore.listStatement(teamID: Self.team, status: .queued, createdBefore: nil, idBefore: nil, limit: 21),
                // In newest-first order, never every queued job sorted (all this test's jobs are one
                // team's); a step-by-step job's sums read its calls through jobs_parent.
                ["jobs_team_created", "jobs_created", "jobs_parent"]
            ),
        ]
        for (name, statement, indexes) in statements {
            let scans = try await Self.scans(of: "jobs", postgres, statement)
            #expect(!scans.isEmpty, "\(name): no scan of jobs in its plan")
            for scan in scans {
                #expect(indexes.contains(scan), "\(name) reads jobs through \(scan), not \(indexes.sorted())")
            }
        }

        // And the statements still do what they did: the mark takes queued jobs, renewal keeps
        // running ones, and neither touches a job in another status.
        let store = PostgresJobStore(postgres: postgres)
        let finished = try await Self.claims(postgres, status: "completed", limit: 4)
        let (marked, rejections) = try await store.markInProgress(queued + finished, workerID: "w", lease: .seconds(30))
        #expect(marked.count == queued.count)
        #expect(Set(rejections.finished) == Set(finished))
        let lost = try await store.renewLeases(running + finished, lease: .seconds(30))
        #expect(lost == Set(finished.map(\.jobID)))
    }

    @Test("a webhook delivery's outcome is written through its primary key while the statistics say none is pending")
    func deliveryOutcomeWhateverTheStatistics() async throws {
        let postgres = try await Self.database(measuring: "webhook_deliveries", emptying: ["webhook_deliveries"])
        defer { postgres.shutdown() }
        func insert(_ count: Int, status: String) async throws {
            try await postgres.query(
                """
                INSERT INTO webhook_deliveries (team_id, event, payload, status, delivered_at, claim_token)
                SELECT $1, 'job.completed', '{}', $2, CASE WHEN $2 = 'delivered' THEN now() END, gen_random_uuid()
                FROM generate_series(1, $3::int)
                """,
                [.text(Self.team), .text(status), .int(count)]
            )
        }
        try await insert(20000, status: "delivered")
        try await postgres.withConnection { try await $0.executeScript("VACUUM ANALYZE webhook_deliveries") }
        try await insert(3000, status: "pending")
        let outcomes = try await postgres.query(
            "SELECT delivery_id, claim_token FROM webhook_deliveries WHERE status = 'pending' LIMIT 50"
        ).map {
            DeliveryOutcome(
                deliveryID: try $0.decode("delivery_id"),
                claimToken: try $0.decode("claim_token"),
                result: .delivered(statusCode: 200)
            )
        }
        let scans = try await Self.scans(of: "webhook_deliveries", postgres, PostgresWebhookDeliveryStore.recordStatement(outcomes))
        #expect(!scans.isEmpty)
        for scan in scans {
            #expect(scan == "webhook_deliveries_pkey", "the outcomes read the deliveries through \(scan)")
        }
        // And the statement still writes what it did: the 50 are delivered.
        try await PostgresWebhookDeliveryStore(postgres: postgres).record(outcomes)
        let delivered = try #require(
            try await postgres.query(
                "SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'delivered' AND delivery_id = ANY($1::uuid[])",
                [.textArray(outcomes.map(\.deliveryID.lowercasedString))]
            ).first
        ).decode("n", as: Int.self)
        #expect(delivered == outcomes.count)
    }

    @Test("an upload is attached through its primary key while the statistics say none is in flight")
    func attachWhateverTheStatistics() async throws {
        let postgres = try await Self.database(measuring: "documents", emptying: ["documents"])
        defer { postgres.shutdown() }
        func insert(_ count: Int, status: String) async throws {
            try await postgres.query(
                """
                INSERT INTO documents (document_id, team_id, status, kind, sha256)
                SELECT gen_random_uuid(), $1, $2, 'pdf', decode(repeat('ab', 32), 'hex') FROM generate_series(1, $3::int)
                """,
                [.text(Self.team), .text(status), .int(count)]
            )
        }
        try await insert(20000, status: "attached")
        try await postgres.withConnection { try await $0.executeScript("VACUUM ANALYZE documents") }
        try await insert(3000, status: "stored")
        let stored: UUID = try #require(
            try await postgres.query("SELECT document_id FROM documents WHERE status = 'stored' LIMIT 1").first
        ).decode("document_id")
        let scans = try await Self.scans(of: "documents", postgres, PostgresDocumentStore.attachStatement(stored))
        #expect(scans == ["documents_pkey"], "the attach reads the documents through \(scans)")
        try await PostgresDocumentStore(postgres: postgres).attach(stored)
        let status: String = try #require(
            try await postgres.query("SELECT status FROM documents WHERE document_id = $1", [.uuid(stored)]).first
        ).decode("status")
        #expect(status == "attached")
    }

    /// The suite's own database with the test's team, `tables` emptied in order and autovacuum
    /// off for `table`: it must not refresh the statistics the test is about.
    static func database(measuring table: String, emptying tables: [String]) async throws -> PostgresClient {
        let postgres = try await TestEnvironment.ownDatabase("found_by_id", poolSize: 2)
        // Table names cannot be bound; these are the test's constants.
        try await postgres.query("ALTER TABLE \(table) SET (autovacuum_enabled = false)")
        for name in tables { try await postgres.query("DELETE FROM \(name)") }
        try await postgres.query("INSERT INTO organizations (organization_id, name) VALUES ('by-id', 'by id') ON CONFLICT DO NOTHING")
        try await postgres.query(
            "INSERT INTO teams (team_id, organization_id) VALUES ($1, 'by-id') ON CONFLICT DO NOTHING",
            [.text(Self.team)]
        )
        return postgres
    }

    /// The index each scan of `table` in the statement's plan reads ("Seq Scan" for none).
    static func scans(of table: String, _ postgres: PostgresClient, _ statement: PostgresStatement) async throws -> [String] {
        let row = try #require(try await postgres.query("EXPLAIN (FORMAT JSON) " + statement.sql, statement.binds).first)
        let text: String = try row.decode("QUERY PLAN")
        let document = try JSONSerialization.jsonObject(with: Data(text.utf8))
        var scans: [String] = []
        func walk(_ node: Any) {
            if let list = node as? [Any] { list.forEach(walk) }
            guard let plan = node as? [String: Any] else { return }
            // Scans only: an UPDATE's own node (ModifyTable) names the table too. A bitmap heap
            // scan reads the indexes of the bitmap index scans under it.
            if plan["Relation Name"] as? String == table, let node = plan["Node Type"] as? String, node.hasSuffix("Scan") {
                let indexes = node == "Bitmap Heap Scan" ? indexNames(under: plan) : [plan["Index Name"] as? String].compactMap { $0 }
                scans.append(contentsOf: indexes.isEmpty ? [node] : indexes)
            }
            if let inner = plan["Plan"] { walk(inner) }
            if let children = plan["Plans"] { walk(children) }
        }
        walk(document)
        return scans
    }

    /// Every "Index Name" in a plan node's subtree.
    static func indexNames(under node: Any) -> [String] {
        if let list = node as? [Any] { return list.flatMap { indexNames(under: $0) } }
        guard let plan = node as? [String: Any] else { return [] }
        return [plan["Index Name"] as? String].compactMap { $0 } + indexNames(under: plan["Plans"] ?? [Any]())
    }

    /// Jobs of the test's team in `status`, leased (with a token) when running.
    static func insertJobs(_ postgres: PostgresClient, count: Int, status: String) async throws {
        try await postgres.query(
            """
            INSERT INTO jobs (job_id, team_id, job_type, status, model_group, request, budget_mode, tokens_per_credit,
                              credits_per_dollar, credits_reserved, reservation_number, calls_planned, lease_token,
                              lease_expires_at, completed_at, expires_at)
            SELECT gen_random_uuid(), $1, 'chat', $2, 'group', '{"messages":[{"role":"user","content":"hi"}]}', 'job_based',
                   1000, 10, 1, 1, 1,
                   CASE WHEN $2 = 'in_progress' THEN gen_random_uuid() END,
                   CASE WHEN $2 = 'in_progress' THEN now() + interval '1 minute' END,
                   CASE WHEN $2 = 'completed' THEN now() END,
                   now() + interval '1 day'
            FROM generate_series(1, $3::int)
            """,
            [.text(Self.team), .text(status), .int(count)]
        )
    }

    /// Up to `limit` jobs in `status` as claims (their lease token, or a new one).
    static func claims(_ postgres: PostgresClient, status: String, limit: Int) async throws -> [Claim] {
        try await postgres.query(
            "SELECT job_id, COALESCE(lease_token, gen_random_uuid()) AS token FROM jobs WHERE status = $1 LIMIT $2",
            [.text(status), .int(limit)]
        ).map { Claim(jobID: try $0.decode("job_id"), token: try $0.decode("token")) }
    }
}
