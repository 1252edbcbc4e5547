import Foundation
import Synchronization
import Testing

@testable import Shared
@testable import Worker

/// The part of ``JobStore`` the claim, lease and settle steps use, in memory: each job's status
/// and current delivery (its lease token), with the same rule as PostgreSQL's — only the current
/// delivery of a live job marks, renews or settles it. The rest of the protocol is not used by
/// those steps and fails loudly.
final class MemoryJobStore: JobStore {
    struct Row: Sendable {
        var teamID: String
        var status: JobStatus = .queued
        var token: UUID?
        var attempts = 0
    }

    private struct State {
        var rows: [UUID: Row] = [:]
        var suspendedTeams: Set<String> = []
        /// Calls of each operation, failures included.
        var markCalls = 0
        var settleCalls = 0
        var renewCalls = 0
        /// How many of the next calls fail.
        var failMarks = 0
        var failSettles = 0
        /// Jobs `renewLeases` says to stop, whatever their row.
        var stop: Set<UUID> = []
    }

    struct Unavailable: Error {}
    struct NotUsedByTheseTests: Error {}

    private let state = Mutex(State())

    /// Adds queued jobs; returns what to enqueue.
    @discardableResult
    func add(_ count: Int, team: String = "team", priority: Int = 0) -> [QueuedJob] {
        let jobs = (0..<count).map { _ in QueuedJob(jobID: UUID(), teamID: team, priority: priority) }
        state.withLock { state in
            for job in jobs { state.rows[job.jobID] = Row(teamID: team) }
        }
        return jobs
    }

    func row(_ jobID: UUID) -> Row? { state.withLock { $0.rows[jobID] } }
    func setStatus(_ jobID: UUID, _ status: JobStatus) { state.withLock { $0.rows[jobID]?.status = status } }
    func setSuspended(_ teamID: String, _ suspended: Bool) {
        state.withLock { state in
            if suspended { state.suspendedTeams.insert(teamID) } else { state.suspendedTeams.remove(teamID) }
        }
    }
    func failNextMarks(_ count: Int) { state.withLock { $0.failMarks = count } }
    func failNextSettles(_ count: Int) { state.withLock { $0.failSettles = count } }
    func stopOnRenewal(_ jobID: UUID) { state.withLock { _ = $0.stop.insert(jobID) } }
    var markCalls: Int { state.withLock { $0.markCalls } }
    var settleCalls: Int { state.withLock { $0.settleCalls } }
    var renewCalls: Int { state.withLock { $0.renewCalls } }

    // MARK: What the worker's steps call

    func markInProgress(_ claims: [Claim], workerID: String, lease: Duration) async throws -> ([ClaimedJob], MarkRejections) {
        try state.withLock { state in
            state.markCalls += 1
            if state.failMarks > 0 {
                state.failMarks -= 1
                throw Unavailable()
            }
            var marked: [ClaimedJob] = []
            var rejected = MarkRejections()
            for claim in claims {
                guard var row = state.rows[claim.jobID], row.status == .queued || row.status == .inProgress else {
                    rejected.finished.append(claim)
                    continue
                }
                if state.suspendedTeams.contains(row.teamID) {
                    rejected.parked.append(claim)
                    continue
                }
                row.status = .inProgress
                row.token = claim.token
                state.rows[claim.jobID] = row
                marked.append(
                    ClaimedJob(
                        claim: claim,
                        teamID: row.teamID,
                        modelGroup: "group",
                        work: JobWork(messages: []),
                        billing: BillingSettings(),
                        creditsReserved: 1,
                        reservationNumber: 1,
                        attempts: row.attempts,
                        expiresAt: Date().addingTimeInterval(3600)
                    )
                )
            }
            return (marked, rejected)
        }
    }

    func settle(_ settlements: [Settlement]) async throws -> [SettleResult] {
        try state.withLock { state in
            state.settleCalls += 1
            if state.failSettles > 0 {
                state.failSettles -= 1
                throw Unavailable()
            }
            return settlements.map { settlement in
                let jobID = settlement.claim.jobID
                guard var row = state.rows[jobID], row.token == settlement.claim.token,
                    row.status == .inProgress || row.status == .cancelling
                else { return .lost }
                row.token = nil
                defer { state.rows[jobID] = row }
                if row.status == .cancelling {
                    row.status = .cancelled
                    return .settled(.cancelled)
                }
                switch settlement.outcome {
                case .completed: row.status = .completed
                case .failed: row.status = .failed
                case .expired: row.status = .expired
                case .retry(_, let countsAttempt, _):
                    row.status = .queued
                    if countsAttempt { row.attempts += 1 }
                    return .requeued
                }
                return .settled(row.status)
            }
        }
    }

    /// As PostgreSQL tallies: jobs ended per team and status, a completed job's charge.
    func settleTallied(_ settlements: [Settlement]) async throws -> ([SettleResult], SettlementTally) {
        let results = try await settle(settlements)
        var tally = SettlementTally()
        for (settlement, result) in zip(settlements, results) {
            guard case .settled(let status) = result, let team = row(settlement.claim.jobID)?.teamID else { continue }
            tally.ended[.init(teamID: team, status: status), default: 0] += 1
            if status == .completed, case .completed(_, _, _, let charge) = settlement.outcome, charge > 0 {
                tally.charged[team, default: 0] += charge
            }
        }
        return (results, tally)
    }

    func renewLeases(_ claims: [Claim], lease: Duration) async throws -> Set<UUID> {
        state.withLock { state in
            state.renewCalls += 1
            return Set(
                claims.filter { claim in
                    let row = state.rows[claim.jobID]
                    return state.stop.contains(claim.jobID) || row?.token != claim.token || row?.status != .inProgress
                }.map(\.jobID)
            )
        }
    }

    // MARK: Not used by the claim, lease and settle steps

    func submit(_ submissions: [JobSubmission]) async throws -> [Result<SubmitOutcome, any Error>] { throw NotUsedByTheseTests() }
    func submit(batch: JobBatch) async throws -> JobBatchOutcome { throw NotUsedByTheseTests() }
    func steps(_ jobID: UUID, reservationNumber: Int, plan: String) async throws -> [JobStep] { throw NotUsedByTheseTests() }
    func recordStep(_ step: JobStep, claim: Claim, reservationNumber: Int) async throws { throw NotUsedByTheseTests() }
    func get(_ jobID: UUID) async throws -> Job? { throw NotUsedByTheseTests() }
    func list(teamID: String?, status: JobStatus?, limit: Int, after cursor: String?) async throws -> Page<Job> { throw NotUsedByTheseTests() }
    func calls(_ jobID: UUID) async throws -> [JobCall] { throw NotUsedByTheseTests() }
    func cancel(_ jobID: UUID) async throws -> Job { throw NotUsedByTheseTests() }
    func retry(_ jobID: UUID) async throws -> (Job, QueuedJob) { throw NotUsedByTheseTests() }
    func queueStats() async throws -> [TeamQueueStats] { throw NotUsedByTheseTests() }
    func expireOverdue(limit: Int) async throws -> [UUID] { throw NotUsedByTheseTests() }
    func recoverExpiredLeases(
        limit: Int,
        poisonAfter: Int,
        aliveWorkers: [String: Date]
    ) async throws -> (leases: [ExpiredLease], tally: SettlementTally) {
        throw NotUsedByTheseTests()
    }
    func queuedJobs(after: SweepCursor?, limit: Int) async throws -> (jobs: [QueuedJob], next: SweepCursor?) { throw NotUsedByTheseTests() }
    func queuedJobs(changedSince: Date, before: Date, after: SweepCursor?, limit: Int) async throws -> (jobs: [QueuedJob], next: SweepCursor?) {
        throw NotUsedByTheseTests()
    }
    func databaseClock() async throws -> DatabaseClock { throw NotUsedByTheseTests() }
    func suspendedTeams() async throws -> [String] { throw NotUsedByTheseTests() }
    func queueStates(_ jobIDs: [UUID]) async throws -> [UUID: JobQueueState] { throw NotUsedByTheseTests() }
    func withSweeperLock<T: Sendable>(_ body: () async throws -> T) async throws -> T? { throw NotUsedByTheseTests() }
}

/// Waits until `condition` holds (a throw counts as not yet), checking every 20 ms; false when
/// `timeout` passes first.
func eventually(within timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return (try? await condition()) == true
}

/// A gate jobs wait at until the test opens it.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let open = state.withLock { state in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if open { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
