import Foundation
import Shared

/// Runtime control of the worker fleet — the fleet-wide pause of claiming and one worker's
/// concurrency — as one type the JSON routes (``FleetController``) and the dashboard share, so
/// both refuse and answer alike. Nothing here is kept in the API process: the pause is recorded
/// in PostgreSQL (``FleetPauseStore``) and then set in the queue, whose claim script reads it
/// (the sweeper sets the queue from PostgreSQL's record when Redis lost it); a concurrency change
/// lives in the worker registry (stored for the worker's next heartbeat and announced for at once).
struct FleetControl: Sendable {
    let queue: any JobQueue
    let registry: WorkerRegistry
    let pauses: any FleetPauseStore

    /// Stops every claim, fleet-wide; once this returns no worker leases a job until
    /// ``resume()``. Jobs stay queued, submits are accepted, running jobs finish.
    func pause() async throws -> QueuePause {
        try await setPaused(true)
    }

    /// Claiming starts again; idle workers hear of it at once (their next look otherwise).
    func resume() async throws -> QueuePause {
        try await setPaused(false)
    }

    /// PostgreSQL first: if Redis then fails, the answer is an error and the next sweep sets
    /// Redis from the record; the other way round, a pause Redis took could be lost with it.
    private func setPaused(_ paused: Bool) async throws -> QueuePause {
        try await pauses.record(paused: paused)
        return try await queue.setPaused(paused)
    }

    /// The pause as it stands.
    func pauseState() async throws -> QueuePause {
        try await queue.pauseState()
    }

    /// Asks a live worker to run `concurrency` jobs at once (1 to 10,000, as
    /// `WORKER_CONCURRENCY`). Returns the worker as its last heartbeat described it, with the
    /// concurrency asked for (its next heartbeat reports it). A draining worker is a 409: it
    /// claims nothing more and is about to exit, so a change would never take effect.
    func setConcurrency(_ workerID: String, to concurrency: Int) async throws -> WorkerInfo {
        try Validate.range(concurrency, ConcurrencyRequest.range, field: "concurrency")
        switch try await registry.setConcurrency(workerID, to: concurrency) {
        case .changed(var info):
            info.concurrency = concurrency
            return info
        case .notFound: throw APIError.workerNotFound(workerID)
        case .draining: throw APIError.workerDraining(workerID)
        }
    }
}

extension AppDependencies {
    /// Runtime control over this process's queue and worker registry.
    var fleet: FleetControl { FleetControl(queue: queue, registry: registry, pauses: pauses) }
}
