import Foundation
import MetricsTesting
import Postgres
import Telemetry
import Testing

@testable import Shared

/// The one-round-trip submit against real PostgreSQL: taken when the store's hints say a batch
/// fits; when they are wrong, nothing is written and the locking submit decides, as it would
/// have without hints.
@Suite("One-round-trip submit")
struct OneTripSubmitTests {
    struct Context {
        let postgres: PostgresClient
        let store: PostgresJobStore
        let team: String
        let metrics: RecordingMetrics

        /// `saas_submit_batches_total{path}` of this context's store.
        func batches(_ path: String) -> Int {
            Int(metrics.total(MetricName.submitBatches, [(MetricLabel.path, path)]))
        }

        /// `credits_reserved`, and remaining (`allocated - used - reserved`).
        func account() async throws -> (reserved: Int, remaining: Int) {
            let row = try #require(
                try await postgres.query(
                    "SELECT credits_reserved, credits_allocated - credits_used - credits_reserved AS remaining FROM credit_accounts WHERE team_id = $1",
                    [.text(team)]
                ).first
            )
            return (try row.decode("credits_reserved"), try row.decode("remaining"))
        }

        /// The team's ledger rows, oldest first: (amount, after).
        func ledger() async throws -> [(amount: Int, after: Int)] {
            try await postgres.query(
                "SELECT credits_amount, credits_after FROM credit_ledger WHERE team_id = $1 ORDER BY sequence",
                [.text(team)]
            ).map { (try $0.decode("credits_amount"), try $0.decode("credits_after")) }
        }

        func jobs(_ ids: [UUID]) async throws -> Int {
            try await postgres.query(
                "SELECT count(*) AS n FROM jobs WHERE job_id = ANY($1::text[]::uuid[])",
                [.textArray(ids.map(\.lowercasedString))]
            )
            .first!.decode("n")
        }

        func oneTrip(_ submissions: [JobSubmission]) async throws -> [SubmitOutcome]? {
            try await store.submitInOneTrip(submissions, prepared: PreparedJobRows(submissions))
        }
    }

    static func context(credits: Int = 1000) async throws -> Context {
        let postgres = try await TestEnvironment.ownDatabase("one_trip", poolSize: 8)
        let team = "ot-\(UUID().uuidString.prefix(8).lowercased())"
        try await postgres.query("INSERT INTO organizations (organization_id, name) VALUES ('ot-org', 'one trip') ON CONFLICT DO NOTHING")
        try await postgres.query("INSERT INTO teams (team_id, organization_id) VALUES ($1, 'ot-org')", [.text(team)])
        try await postgres.query("INSERT INTO credit_accounts (team_id, credits_allocated) VALUES ($1, $2)", [.text(team), .int(credits)])
        let metrics = RecordingMetrics()
        return Context(
            postgres: postgres,
            store: PostgresJobStore(postgres: postgres, submitPaths: SubmitPathMetrics(factory: metrics)),
            team: team,
            metrics: metrics
        )
    }

    static func created(_ outcomes: [SubmitOutcome]) -> Int {
        outcomes.filter { if case .created = $0 { return true } else { return false } }.count
    }

    @Test("a batch that fits the hinted balance goes in one trip and writes what the locking submit writes")
    func fits() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        // Nothing seen of the team yet: the locking submit, which leaves the hint.
        #expect(try await context.oneTrip(JobSubmission.chats(1, team: context.team)) == nil)
        for result in try await context.store.submit(JobSubmission.chats(3, team: context.team)) { _ = try result.get() }
        let batch = JobSubmission.chats(5, team: context.team)
        let outcomes = try #require(try await context.oneTrip(batch))
        #expect(Self.created(outcomes) == 5)
        for case .created(_, let status, _, let reserved) in outcomes {
            #expect(status == .queued && reserved == 1)
        }
        #expect(try await context.jobs(batch.map(\.jobID)) == 5)
        #expect(try await context.account() == (reserved: 8, remaining: 992))
        // One reservation row per job; each `credits_after` is the balance after it, in order.
        let ledger = try await context.ledger()
        #expect(ledger.map(\.amount) == Array(repeating: -1, count: 8))
        #expect(ledger.map(\.after) == Array((992...999).reversed()))
        #expect(context.batches(MetricLabel.locking) == 1 && context.batches(MetricLabel.oneTrip) == 1)
        #expect(context.batches(MetricLabel.oneTripMissed) == 0)
        // The jobs carry the rates they were priced at.
        let rates = try await context.postgres.query(
            "SELECT DISTINCT budget_mode, tokens_per_credit FROM jobs WHERE job_id = ANY($1::text[]::uuid[])",
            [.textArray(batch.map(\.jobID.lowercasedString))]
        )
        #expect(rates.count == 1)
        #expect(try rates.first!.decode("budget_mode", as: String.self) == "job_based")
    }

    @Test("when the balance moved under the hint, nothing is written and the locking submit decides job by job")
    func balanceMoved() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        for result in try await context.store.submit(JobSubmission.chats(1, team: context.team)) { _ = try result.get() }
        // Another process spent all but 2 credits since.
        try await context.postgres.query(
            "UPDATE credit_accounts SET credits_used = credits_allocated - credits_reserved - 2 WHERE team_id = $1",
            [.text(context.team)]
        )
        let before = try await context.ledger().count
        let batch = JobSubmission.chats(4, team: context.team)
        #expect(try await context.oneTrip(batch) == nil)
        #expect(try await context.jobs(batch.map(\.jobID)) == 0)
        #expect(try await context.ledger().count == before)
        #expect(try await context.account() == (reserved: 1, remaining: 2))
        // The hint was forgotten: the next batch is locked and decided job by job.
        #expect(try await context.oneTrip(JobSubmission.chats(1, team: context.team)) == nil)
        let outcomes = try await context.store.submit(batch).map { try $0.get() }
        #expect(Self.created(outcomes) == 2)
        #expect(outcomes.suffix(2) == [.insufficientCredits(remaining: 0, needed: 1), .insufficientCredits(remaining: 0, needed: 1)])
        #expect(try await context.account() == (reserved: 3, remaining: 0))
        #expect(context.batches(MetricLabel.oneTripMissed) == 1 && context.batches(MetricLabel.oneTrip) == 0)
        #expect(context.batches(MetricLabel.locking) == 2)
    }

    @Test("when the team's rates changed, nothing is written and the jobs are priced at the new rates")
    func ratesChanged() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        try await context.postgres.query(
            "UPDATE teams SET budget_mode = 'consumption_tokens', tokens_per_credit = 5 WHERE team_id = $1",
            [.text(context.team)]
        )
        // 10 tokens at 5 a credit: 2 credits a job.
        for result in try await context.store.submit(JobSubmission.chats(1, team: context.team)) { _ = try result.get() }
        #expect(try await context.account().reserved == 2)
        try await context.postgres.query("UPDATE teams SET tokens_per_credit = 10 WHERE team_id = $1", [.text(context.team)])
        let batch = JobSubmission.chats(2, team: context.team)
        #expect(try await context.oneTrip(batch) == nil)
        #expect(try await context.jobs(batch.map(\.jobID)) == 0)
        let outcomes = try await context.store.submit(batch).map { try $0.get() }
        for case .created(_, _, _, let reserved) in outcomes { #expect(reserved == 1) }
        #expect(Self.created(outcomes) == 2)
        #expect(try await context.account().reserved == 4)
    }

    @Test("a job PostgreSQL refuses fails alone, whichever way the batch went")
    func refusedJobFailsAlone() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        for result in try await context.store.submit(JobSubmission.chats(1, team: context.team)) { _ = try result.get() }
        var batch = JobSubmission.chats(3, team: context.team)
        // jsonb cannot hold U+0000.
        batch[1].metadata = ["note": .string("a\u{0}b")]
        let results = try await context.store.submit(batch)
        #expect(results.count == 3)
        #expect((try? results[0].get()) != nil && (try? results[2].get()) != nil)
        #expect((try? results[1].get()) == nil)
        #expect(try await context.jobs(batch.map(\.jobID)) == 2)
        #expect(try await context.account().reserved == 3)
        #expect(try await context.ledger().map(\.after) == [999, 998, 997])
    }

    @Test("concurrent submitters of one team near its end: never more reserved than it had, and a consistent ledger")
    func concurrentNearTheEnd() async throws {
        let context = try await Self.context(credits: 150)
        defer { context.postgres.shutdown() }
        // Another store, as another API process: its hints go stale under this one's submits.
        let other = PostgresJobStore(postgres: context.postgres)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                let store = task % 2 == 0 ? context.store : other
                group.addTask {
                    for round in 0..<12 {
                        let submissions = JobSubmission.chats(1 + (task + round) % 4, team: context.team)
                        for result in try await store.submit(submissions) {
                            switch try result.get() {
                            case .created, .refused(.insufficientCredits): break
                            case let outcome: Issue.record("unexpected outcome \(outcome)")
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let account = try await context.account()
        let jobs: Int = try await context.postgres.query("SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(context.team)]).first!.decode(
            "n"
        )
        // 8 × 12 batches of 1–4 jobs ask for 240 credits: the team runs out.
        #expect(account == (reserved: 150, remaining: 0))
        #expect(jobs == 150)
        let ledger = try await context.ledger()
        #expect(ledger.count == 150)
        #expect(ledger.map(\.after) == Array((0...149).reversed()), "each reservation saw the balance the one before left")
    }

    @Test(
        "estimates at the edge of arithmetic (Int.max tokens, Decimal's largest cost), a thousand in a batch: no trap, no one trip, refused with 402's figures"
    )
    func extremeEstimates() async throws {
        let context = try await Self.context()
        defer { context.postgres.shutdown() }
        try await context.postgres.query(
            "UPDATE teams SET budget_mode = 'consumption_usd' WHERE team_id = $1",
            [.text(context.team)]
        )
        for result in try await context.store.submit(JobSubmission.chats(1, team: context.team)) { _ = try result.get() }
        let before = try await context.account()
        var batch = JobSubmission.chats(1_000, team: context.team)
        for index in batch.indices {
            batch[index].estimate = Billing.Estimate(totalTokens: .max, maxCostUSD: .greatestFiniteMagnitude)
        }
        #expect(try await context.oneTrip(batch) == nil, "a batch past every balance never takes the one trip")
        let outcomes = try await context.store.submit(batch).map { try $0.get() }
        #expect(outcomes.count == 1_000)
        #expect(Self.created(outcomes) == 0)
        for outcome in outcomes {
            guard case .refused(.insufficientCredits(let remaining, let needed)) = outcome else {
                Issue.record("unexpected \(outcome)")
                continue
            }
            #expect(remaining == before.remaining && needed == Billing.maxCredits)
        }
        #expect(try await context.account() == before)
    }

    @Test("a miss falls back to the locking submit only for SB001, a value or a constraint one job breaks; not for a timeout or a lost server")
    func fallbackErrors() {
        func server(_ state: String) -> PostgresError { .server(sqlState: state, message: "m", detail: nil) }
        for state in ["SB001", "22P05", "22003", "23505", "23503"] { #expect(PostgresJobStore.fallsBack(server(state)), "\(state)") }
        #expect(PostgresJobStore.fallsBack(.invalidParameter("NUL")))
        for state in ["57014", "55P03", "40P01", "40001", "57P01", "53300", "25P02"] {
            #expect(!PostgresJobStore.fallsBack(server(state)), "\(state)")
        }
        #expect(!PostgresJobStore.fallsBack(.connectionLost("gone")))
        #expect(!PostgresJobStore.fallsBack(.commitOutcomeUnknown("gone")))
    }

    @Test("hints: no one trip for a keyed submission, an unseen team, or a team whose batch takes over half of what it was seen to have")
    func hintRules() {
        let hints = AccountHints()
        let team = "hinted"
        #expect(hints.oneTrip(JobSubmission.chats(1, team: team)) == nil)
        hints.keep([team: ReservationPlan.Account(remaining: 10, billing: BillingSettings())], reserved: [team: 2])
        // 8 left: up to 4 one-credit jobs.
        #expect(hints.oneTrip(JobSubmission.chats(4, team: team))?[team]?.remaining == 8)
        #expect(hints.oneTrip(JobSubmission.chats(5, team: team)) == nil)
        var keyed = JobSubmission.chats(1, team: team)
        keyed[0].idempotencyKey = "k"
        #expect(hints.oneTrip(keyed) == nil)
        #expect(hints.oneTrip(JobSubmission.chats(1, team: team) + JobSubmission.chats(1, team: "unseen")) == nil)
        hints.forget([team])
        #expect(hints.oneTrip(JobSubmission.chats(1, team: team)) == nil)
    }
}
