public import Foundation
public import Postgres

/// The fleet-wide pause of claiming as PostgreSQL keeps it (migration 0024). The claim script
/// reads Redis's copy (``JobQueue/setPaused(_:)``); this one outlives Redis's data, and the
/// sweeper sets Redis from it.
public protocol FleetPauseStore: Sendable {
    /// Records the pause asked for; its `since` moves only when the state changes.
    func record(paused: Bool) async throws
    /// The pause as recorded; nil when claiming was never paused or resumed.
    func recorded() async throws -> QueuePause?
}

public struct PostgresFleetPauseStore: FleetPauseStore {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    public func record(paused: Bool) async throws {
        try await postgres.query(
            """
            INSERT INTO fleet_pause (paused) VALUES ($1)
            ON CONFLICT (singleton) DO UPDATE
            SET paused = EXCLUDED.paused,
                since = CASE WHEN fleet_pause.paused = EXCLUDED.paused THEN fleet_pause.since ELSE now() END
            """,
            [.bool(paused)]
        )
    }

    public func recorded() async throws -> QueuePause? {
        guard let row = try await postgres.query("SELECT paused, since FROM fleet_pause").first else { return nil }
        return QueuePause(paused: try row.decode("paused"), since: try row.decode("since"))
    }
}
