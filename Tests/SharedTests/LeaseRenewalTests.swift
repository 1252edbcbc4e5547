import Foundation
import Postgres
import Testing

@testable import Shared

/// `PostgresJobStore.renewLeases`: what a worker's lease keeper is told to stop.
@Suite("Lease renewal in PostgreSQL")
struct LeaseRenewalTests {
    @Test("held leases are renewed; a wrong token or a cancelling job is to be stopped")
    func renewsAndStops() async throws {
        let context = try await SettlementCountingTests.context(database: "claim_marks")
        defer { context.postgres.shutdown() }
        let ids = try await context.submit(3)
        let claims = ids.map { Claim(jobID: $0, token: UUID.random()) }
        _ = try await context.store.markInProgress(claims, workerID: "w", lease: .seconds(5))
        #expect(try await context.store.renewLeases(claims, lease: .seconds(600)).isEmpty)
        let left: Double = try await context.postgres.query(
            "SELECT min(extract(epoch FROM lease_expires_at - now()))::float8 AS left FROM jobs WHERE job_id = ANY($1::text[]::uuid[])",
            [.textArray(ids.map(\.lowercasedString))]
        ).first!.decode("left")
        #expect(left > 500, "every lease was renewed")

        try await context.postgres.query("UPDATE jobs SET status = 'cancelling' WHERE job_id = $1", [.uuid(ids[0])])
        let stale = Claim(jobID: ids[1], token: UUID.random())
        let stop = try await context.store.renewLeases([claims[0], stale, claims[2]], lease: .seconds(600))
        #expect(stop == [ids[0], ids[1]])
    }
}

/// `PostgresJobStore.markInProgress`: a row this worker cannot read fails only its own claim.
@Suite("Claim marks in PostgreSQL")
struct ClaimMarkTests {
    @Test("a stored request this worker cannot read is handed back alone; its batch's other jobs are marked and start")
    func unreadableRequestFailsOnlyItself() async throws {
        let context = try await SettlementCountingTests.context(database: "claim_marks")
        defer { context.postgres.shutdown() }
        let ids = try await context.submit(3)
        // As a newer API might write it: `messages` in a shape this worker does not know.
        try await context.postgres.query(
            #"UPDATE jobs SET request = '{"messages":{"parts":["a newer shape"]}}'::jsonb WHERE job_id = $1"#,
            [.uuid(ids[1])]
        )
        let claims = ids.map { Claim(jobID: $0, token: UUID.random()) }
        let (marked, rejected) = try await context.store.markInProgress(claims, workerID: "w", lease: .seconds(5))
        #expect(Set(marked.map(\.claim.jobID)) == [ids[0], ids[2]])
        #expect(rejected.unreadable == [claims[1]])
        #expect(rejected.finished.isEmpty && rejected.parked.isEmpty)
        #expect(rejected.count == 1 && !rejected.isEmpty)
    }
}
