public import Foundation

/// A job to create, as the API validated it.
public struct JobSubmission: Sendable {
    public var jobID: UUID
    public var teamID: String
    public var jobType: String
    public var userID: String?
    public var metadata: JSONObject
    /// nil for a `pending` job (created without work).
    public var modelGroup: String?
    public var work: JobWork?
    public var priority: Int
    public var expiresAt: Date
    /// The most the job can use; priced under the team's rates inside the transaction.
    public var estimate: Billing.Estimate?
    public var callsPlanned: Int
    public var idempotencyKey: String?
    public var requestHash: [UInt8]?
    /// False when the submit opted out of the job's webhook (`webhook: false`): the outbox
    /// trigger records no delivery for it.
    public var webhook: Bool

    public init(
        jobID: UUID = UUID.random(),
        teamID: String,
        jobType: String,
        userID: String?,
        metadata: JSONObject,
        modelGroup: String?,
        work: JobWork?,
        priority: Int,
        expiresAt: Date,
        estimate: Billing.Estimate?,
        callsPlanned: Int,
        idempotencyKey: String?,
        requestHash: [UInt8]?,
        webhook: Bool = true
    ) {
        self.jobID = jobID
        self.teamID = teamID
        self.jobType = jobType
        self.userID = userID
        self.metadata = metadata
        self.modelGroup = modelGroup
        self.work = work
        self.priority = priority
        self.expiresAt = expiresAt
        self.estimate = estimate
        self.callsPlanned = callsPlanned
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash
        self.webhook = webhook
    }
}

/// What submitting one job came to.
public enum SubmitOutcome: Sendable, Hashable {
    /// Created; `queued` jobs are to be enqueued.
    case created(jobID: UUID, status: JobStatus, createdAt: Date, creditsReserved: Int)
    /// The same Idempotency-Key and request as an earlier job: that job, as it is now.
    case replayed(jobID: UUID, status: JobStatus, createdAt: Date, creditsReserved: Int, wasPending: Bool)
    /// Not created, for a reason the client is told: refusals travel as ``DomainError`` like
    /// every other store's, so the API answers them in one place.
    case refused(DomainError)

    /// The same Idempotency-Key as an earlier job, with another request.
    public static var idempotencyConflict: SubmitOutcome { .refused(.idempotencyKeyReused) }
    public static func insufficientCredits(remaining: Int, needed: Int) -> SubmitOutcome {
        .refused(.insufficientCredits(remaining: remaining, needed: needed))
    }
    /// The key's team is gone.
    public static var teamNotFound: SubmitOutcome { .refused(.callerTeamNotFound) }
}

/// A job claimed by a worker and marked `in_progress`: what the worker needs to run it.
public struct ClaimedJob: Sendable {
    public var claim: Claim
    public var teamID: String
    public var modelGroup: String
    public var work: JobWork
    public var billing: BillingSettings
    public var creditsReserved: Int
    public var reservationNumber: Int
    public var attempts: Int
    public var expiresAt: Date
}

/// A finished step of a document job, kept so that a redelivery resumes from it.
public struct JobStep: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case chunk, reduce
    }

    /// The plan the step belongs to (the model and the chunk size it split the document by):
    /// another model of the group splits the document differently, and must not reuse these.
    public var plan: String
    public var kind: Kind
    public var level: Int
    public var index: Int
    public var content: String
    /// The call that produced it, with its usage and cost.
    public var call: JobCall

    public init(plan: String, kind: Kind, level: Int, index: Int, content: String, call: JobCall) {
        self.plan = plan
        self.kind = kind
        self.level = level
        self.index = index
        self.content = content
        self.call = call
    }
}

/// How one delivery of a job ended, for ``JobStore/settle(_:)``.
public struct Settlement: Sendable {
    public enum Outcome: Sendable, Hashable {
        case completed(result: JSONValue, usage: TokenUsage, costUSD: Decimal, charge: Int)
        case failed(code: JobErrorCode, message: String)
        case expired
        /// Back to the queue after `delay`; `countsAttempt` is false for 429s and hand-backs.
        case retry(delay: Duration, countsAttempt: Bool, message: String?)
    }

    public var claim: Claim
    public var outcome: Outcome
    /// Every upstream call this delivery made.
    public var calls: [JobCall]
    /// Whether this delivery reached the upstream (counted in `attempts`).
    public var reachedUpstream: Bool
    /// Calls to add to the job's progress (`calls_done`); document steps count as they finish.
    public var progress: Int

    public init(claim: Claim, outcome: Outcome, calls: [JobCall], reachedUpstream: Bool, progress: Int? = nil) {
        self.claim = claim
        self.outcome = outcome
        self.calls = calls
        self.reachedUpstream = reachedUpstream
        self.progress = progress ?? calls.count
    }
}

/// What settling one delivery came to.
public enum SettleResult: Sendable, Hashable {
    /// The job reached this terminal status (`cancelled` when a cancel was recorded first).
    case settled(JobStatus)
    /// Back in the queue for a retry.
    case requeued
    /// This delivery no longer held the job (lease lost, settled elsewhere, cancelled): nothing
    /// was charged; its calls were recorded unbilled.
    case lost
}

extension JobStore {
    public func settleTallied(_ settlements: [Settlement]) async throws -> ([SettleResult], SettlementTally) {
        (try await settle(settlements), SettlementTally())
    }

    public func cancelTallied(_ jobID: UUID) async throws -> (Job, SettlementTally) {
        (try await cancel(jobID), SettlementTally())
    }

    public func expireOverdueTallied(limit: Int) async throws -> ([UUID], SettlementTally) {
        (try await expireOverdue(limit: limit), SettlementTally())
    }
}

/// Claims that could not be marked `in_progress`, and why.
public struct MarkRejections: Sendable {
    /// Terminal, cancelled or unknown jobs: the queue should forget them.
    public var finished: [Claim] = []
    /// Jobs of suspended teams: back to the queue, where they wait for the team's resumption.
    public var parked: [Claim] = []
    /// Jobs marked, whose stored row this worker could not read (a request written by a newer
    /// API, say): back to the queue after a while, for a worker that can — never failing the
    /// rest of their batch.
    public var unreadable: [Claim] = []

    /// Whether anything must go back to the queue.
    public var isEmpty: Bool { finished.isEmpty && parked.isEmpty && unreadable.isEmpty }
    public var count: Int { finished.count + parked.count + unreadable.count }

    public init() {}
}

/// Per-team queue figures for admins deciding how many workers to run.
public struct TeamQueueStats: Sendable, Hashable {
    public var teamID: String
    public var queued: Int
    public var scheduled: Int
    public var inProgress: Int
    public var oldestQueuedAt: Date?
}

/// A job whose lease expired, as the sweeper found it: back in the queue, or ended (`poison`
/// after too many expiries of a dead worker's lease, or `cancelled` when a cancel was waiting).
public struct ExpiredLease: Sendable, Hashable {
    public var job: QueuedJob
    public var ended: Bool
    /// Whether this expiry counted toward poison (its worker was not alive).
    public var counted: Bool

    public init(job: QueuedJob, ended: Bool, counted: Bool) {
        self.job = job
        self.ended = ended
        self.counted = counted
    }
}

/// Where a paged read of queued jobs stopped: a timestamp in whole microseconds since 1970 (exact,
/// as PostgreSQL keeps it) and the last job id read.
public struct SweepCursor: Sendable, Hashable {
    public var micros: Int64
    public var jobID: UUID

    public init(micros: Int64, jobID: UUID) {
        self.micros = micros
        self.jobID = jobID
    }
}

/// PostgreSQL's clock as the sweeper's watermark needs it: a row's `updated_at` is its
/// transaction's start (`now()`), and the row becomes visible only at commit, so a pass that read
/// every row changed up to a time has covered that time only once no transaction that started
/// before it is still open.
public struct DatabaseClock: Sendable, Equatable {
    /// `now()` of the reading statement.
    public var now: Date
    /// The start of the oldest transaction open in the database, other than the reader's; nil
    /// when none is open. Rows it writes carry an `updated_at` no earlier than this.
    public var oldestOpenTransaction: Date?
    /// Whether a transaction of the database may be open unseen: a session of another role
    /// (without `pg_read_all_stats`), one with `track_activities` off, or a prepared transaction.
    /// Its rows may carry any `updated_at`.
    public var hiddenSessions: Bool

    public init(now: Date, oldestOpenTransaction: Date? = nil, hiddenSessions: Bool = false) {
        self.now = now
        self.oldestOpenTransaction = oldestOpenTransaction
        self.hiddenSessions = hiddenSessions
    }
}

/// A job's status and queue identity, for the sweeper's check of Redis entries.
public struct JobQueueState: Sendable, Hashable {
    public var job: QueuedJob
    public var status: JobStatus
}

/// Jobs in PostgreSQL, the source of truth. Every change of a job's state and its money is one
/// transaction; the grouped operations (`submit`, `markInProgress`, `settle`) take many jobs per
/// transaction, because one commit per job cannot reach the throughput bars (SYSTEM.md).
public protocol JobStore: Sendable {
    /// One result per submission, in order; a failure of one does not fail the others.
    func submit(_ submissions: [JobSubmission]) async throws -> [Result<SubmitOutcome, any Error>]
    /// One team's batch in one transaction: its key's earlier answer when there is one (a
    /// different request under the key is ``DomainError/idempotencyKeyReused``), else every
    /// submission planned against the running balance and written, with the answer under the key.
    func submit(batch: JobBatch) async throws -> JobBatchOutcome
    /// Forgets the answers of batches submitted under an Idempotency-Key longer ago than `age`
    /// (at most `limit` of them); returns how many. Their jobs stay.
    func forgetBatchAnswers(olderThan age: Duration, limit: Int) async throws -> Int
    func markInProgress(_ claims: [Claim], workerID: String, lease: Duration) async throws -> ([ClaimedJob], MarkRejections)
    func settle(_ settlements: [Settlement]) async throws -> [SettleResult]
    /// ``settle(_:)``, also telling what the committed transactions came to per team (the
    /// worker's metrics). A store that cannot tell answers an empty tally.
    func settleTallied(_ settlements: [Settlement]) async throws -> ([SettleResult], SettlementTally)
    /// Extends the leases of jobs a worker still runs; returns the jobs it should stop
    /// (cancelling, or no longer its delivery).
    func renewLeases(_ claims: [Claim], lease: Duration) async throws -> Set<UUID>
    /// The finished steps of a document job's current reservation under one plan.
    func steps(_ jobID: UUID, reservationNumber: Int, plan: String) async throws -> [JobStep]
    /// Keeps a finished step and its call, and counts it in the job's progress — if `claim` still
    /// holds the job (a stale delivery's call is recorded, its step is not).
    func recordStep(_ step: JobStep, claim: Claim, reservationNumber: Int) async throws
    func get(_ jobID: UUID) async throws -> Job?
    func list(teamID: String?, status: JobStatus?, limit: Int, after cursor: String?) async throws -> Page<Job>
    func calls(_ jobID: UUID) async throws -> [JobCall]
    /// Cancels a job: at once when it is not running, else marks it `cancelling`. Refusals are
    /// ``DomainError/jobNotFound`` and ``DomainError/jobAlreadyTerminal(_:)``.
    func cancel(_ jobID: UUID) async throws -> Job
    /// ``cancel(_:)``, also telling what its committed transaction came to: the job ended as
    /// `cancelled` when it was not running, and what a step-by-step job's calls were charged
    /// (``SettlementMetrics``). A store that cannot tell answers an empty tally.
    func cancelTallied(_ jobID: UUID) async throws -> (Job, SettlementTally)
    /// Retries a failed job with a new reservation. Refusals are ``DomainError/jobNotFound``,
    /// ``DomainError/jobNotRetryable(_:)`` and ``DomainError/insufficientCredits(remaining:needed:)``.
    func retry(_ jobID: UUID) async throws -> (Job, QueuedJob)
    func queueStats() async throws -> [TeamQueueStats]
    /// When each of these teams' oldest queued job was submitted (teams with none are absent):
    /// the one figure of the queue gauges the queue itself does not hold (``QueueCensus``).
    func oldestQueued(teams: [String]) async throws -> [String: Date]

    // The sweeper's reconciliation.
    func expireOverdue(limit: Int) async throws -> [UUID]
    /// ``expireOverdue(limit:)``, also telling what its committed transaction came to: the jobs
    /// expired (not a step-by-step job's calls) and what completed calls were charged.
    func expireOverdueTallied(limit: Int) async throws -> ([UUID], SettlementTally)
    /// Takes back expired leases; an expiry counts toward poison only when the job's worker is
    /// not in `aliveWorkers` or its lease expired after what the worker vouches for (the dates).
    /// Also tells what its committed transaction came to: the jobs it ended (poisoned `failed`,
    /// `cancelling` ones `cancelled`; not a step-by-step job's calls), which charge nothing. One
    /// method, so that a store that forwards it cannot forward the leases and drop the count.
    func recoverExpiredLeases(
        limit: Int,
        poisonAfter: Int,
        aliveWorkers: [String: Date]
    ) async throws -> (leases: [ExpiredLease], tally: SettlementTally)
    /// Every queued job, paged (the full re-enqueue after Redis lost its data).
    func queuedJobs(after: SweepCursor?, limit: Int) async throws -> (jobs: [QueuedJob], next: SweepCursor?)
    /// Queued jobs changed in [since, before), paged (the incremental re-enqueue).
    func queuedJobs(changedSince: Date, before: Date, after: SweepCursor?, limit: Int) async throws -> (jobs: [QueuedJob], next: SweepCursor?)
    /// PostgreSQL's current time, and the start of the oldest transaction still open.
    func databaseClock() async throws -> DatabaseClock
    /// Teams whose `status` is `suspended`.
    func suspendedTeams() async throws -> [String]
    /// Teams with `max_concurrent_jobs`, and it (the queue's caps after Redis lost its data).
    func concurrencyCaps() async throws -> [String: Int]
    /// The jobs of these ids that exist, with their status.
    func queueStates(_ jobIDs: [UUID]) async throws -> [UUID: JobQueueState]
    /// Runs `body` only if no other process holds the sweeper lock; nil when one does.
    func withSweeperLock<T: Sendable>(_ body: () async throws -> T) async throws -> T?
}
