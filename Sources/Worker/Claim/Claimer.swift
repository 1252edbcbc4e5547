import Backoff
import Foundation
import Logging
import Shared

/// Claim: takes jobs from the queue as slots free up, marks them `in_progress` in PostgreSQL
/// under their lease tokens, and hands them to the runner. Idle, it waits on the queue until a
/// team has work (or the next retry falls due) — it never polls.
struct Claimer: Sendable {
    let queue: any JobQueue
    let jobs: any JobStore
    let inFlight: InFlight
    let workerID: String
    let lease: Duration
    let wakeup: ClaimWakeup
    let logger: Logger

    /// After a failed claim: a steady second, as often as it takes (the loop never gives up).
    static let retry = RetryPolicy(base: .seconds(1), cap: .seconds(1), maxAttempts: .max, jitter: .none)
    /// While the fleet's claiming is paused: how long the claimer waits before looking again
    /// when it hears no resume (announcements are hints). A paused claim costs one `HGET`.
    static let pausedLook: Duration = .seconds(2)
    /// How long a job this worker could not read waits before the queue offers it again: long
    /// enough not to spin on it, short enough for a newer worker of a rolling deploy.
    static let unreadableDelay: Duration = .seconds(30)

    /// Claims until cancelled; `run` is called for each marked job.
    func run(_ start: @escaping @Sendable (ClaimedJob) -> Void) async {
        while !Task.isCancelled {
            // A busy worker claims in groups of an eighth of its slots (at most 32); the slots
            // are read each time, since an admin may change them (``InFlight/resize(to:)``).
            let group = max(1, min(32, inFlight.capacity / 8))
            await inFlight.waitForSlots(inFlight.count == 0 ? 1 : group)
            // Shrunk meanwhile below the jobs running: wait for slots again, claim nothing.
            let free = inFlight.free
            if Task.isCancelled { break }
            if free == 0 { continue }
            do {
                let result = try await queue.claim(max: min(free, 256), lease: lease)
                if result.paused {
                    // Waiting for work would return at once while teams have ready jobs: wait
                    // for the resume's wake-up instead, or look again after a while.
                    try await wakeup.wait(timeout: Self.pausedLook) { timeout in try await Task.sleep(for: timeout) }
                    continue
                }
                if result.claims.isEmpty {
                    let wait = max(min(result.nextRetryDue ?? .seconds(30), .seconds(30)), .milliseconds(10))
                    try await wakeup.wait(timeout: wait) { [queue] timeout in
                        try await queue.waitForWork(timeout: timeout)
                    }
                    continue
                }
                let (marked, rejected) = try await markOrHandBack(result.claims)
                await Self.dispatch(marked, rejected: rejected, start: start, logger: logger) { rejected in
                    try await queue.finish(
                        acknowledge: rejected.finished,
                        completed: [],
                        requeue: rejected.parked.map { Requeue(claim: $0, delay: .zero) }
                            + rejected.unreadable.map { Requeue(claim: $0, delay: Self.unreadableDelay) }
                    )
                }
            } catch is CancellationError {
                break
            } catch {
                logger.error("claiming failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: Self.retry.delay(afterAttempt: 1))
            }
        }
    }

    /// Starts the marked jobs, then hands the rejected claims back to the queue. The marked jobs
    /// are this worker's now (`in_progress` under its tokens), so they start before anything
    /// else can fail: a failed hand-back must not strand them until their lease expires (and
    /// count toward poison). Rejected claims that could not be handed back wait out their Redis
    /// lease; the sweeper reconciles them with PostgreSQL.
    static func dispatch<Job>(
        _ marked: [Job],
        rejected: MarkRejections,
        start: (Job) -> Void,
        logger: Logger,
        handBack: (MarkRejections) async throws -> Void
    ) async {
        for job in marked { start(job) }
        guard !rejected.isEmpty else { return }
        if !rejected.unreadable.isEmpty {
            logger.error(
                "claimed jobs whose stored request this worker cannot read; handed back for another worker",
                metadata: ["jobs": "\(rejected.unreadable.map(\.jobID.lowercasedString))"]
            )
        }
        do {
            try await handBack(rejected)
        } catch {
            logger.warning("could not hand back rejected claims", metadata: ["error": "\(error)", "count": "\(rejected.count)"])
        }
    }

    /// Marks claims in PostgreSQL; if that fails, the claims go straight back to the queue.
    private func markOrHandBack(_ claims: [Claim]) async throws -> ([ClaimedJob], MarkRejections) {
        do {
            return try await jobs.markInProgress(claims, workerID: workerID, lease: lease)
        } catch {
            logger.error("marking claimed jobs failed; handing them back", metadata: ["error": "\(error)", "count": "\(claims.count)"])
            try? await queue.finish(acknowledge: [], completed: [], requeue: claims.map { Requeue(claim: $0, delay: .seconds(1)) })
            throw error
        }
    }
}
