import Foundation
import Postgres
import Synchronization
import Testing

@testable import Shared

/// `PostgresJobStore.renewLeases`: what a worker's lease keeper is told to stop, and that a
/// renewal never queues behind a settlement that holds some of its rows.
@Suite("Lease renewal in PostgreSQL")
struct LeaseRenewalTests {
    @Test("held leases are renewed; a wrong token or a cancelling job is to be stopped")
    func renewsAndStops() async throws {
        let context = try await SettlementCountingTests.context()
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

    @Test("a row a settlement holds is skipped, not waited for, and its job is kept")
    func skipsLockedRows() async throws {
        let context = try await SettlementCountingTests.context()
        defer { context.postgres.shutdown() }
        let ids = try await context.submit(2)
        let claims = ids.map { Claim(jobID: $0, token: UUID.random()) }
        _ = try await context.store.markInProgress(claims, workerID: "w", lease: .seconds(30))
        let order = Mutex<[String]>([])
        let locked = AsyncStream<Void>.makeStream()
        // A settlement's hold on the first job: its row locked until this transaction ends, 2 s on.
        let holder = Task {
            try await context.postgres.withTransaction { tx in
                try await tx.query("SELECT job_id FROM jobs WHERE job_id = $1 FOR UPDATE", [.uuid(ids[0])])
                locked.continuation.yield()
                try await Task.sleep(for: .seconds(2))
                order.withLock { $0.append("released") }
            }
        }
        for await _ in locked.stream { break }
        let stop = try await context.store.renewLeases(claims, lease: .seconds(600))
        order.withLock { $0.append("renewed") }
        try await holder.value
        #expect(stop.isEmpty, "the held job is still this delivery's")
        #expect(order.withLock { $0 } == ["renewed", "released"], "the renewal waited for the settlement's lock")
        let renewed: Bool = try await context.postgres.query(
            "SELECT lease_expires_at > now() + interval '300 seconds' AS renewed FROM jobs WHERE job_id = $1",
            [.uuid(ids[1])]
        ).first!.decode("renewed")
        #expect(renewed, "the row nobody held was renewed")
    }
}
