import Foundation

/// A job as the queue knows it: enough to order it (team, priority), nothing of its content.
/// PostgreSQL holds the job itself.
public struct QueuedJob: Sendable, Hashable {
    public var jobID: UUID
    public var teamID: String
    /// 0–9, higher first within the team.
    public var priority: Int

    public init(jobID: UUID, teamID: String, priority: Int) {
        self.jobID = jobID
        self.teamID = teamID
        self.priority = priority
    }
}

/// One delivery of a job to a worker: the lease token proves which delivery is current. The
/// same token is written to the job row when the worker marks it `in_progress`, and settlement is
/// conditional on it, so a delivery that lost its lease cannot settle.
public struct Claim: Sendable, Hashable {
    public var jobID: UUID
    public var token: UUID

    public init(jobID: UUID, token: UUID) {
        self.jobID = jobID
        self.token = token
    }
}

/// What a claim returned, and when the earliest retry falls due (so an idle worker knows how long
/// it may block).
public struct ClaimResult: Sendable {
    public var claims: [Claim]
    public var nextRetryDue: Duration?
}

/// A claimed job going back to the queue: now (hand-back) or after a delay (retry, 429).
public struct Requeue: Sendable, Hashable {
    public var claim: Claim
    public var delay: Duration

    public init(claim: Claim, delay: Duration) {
        self.claim = claim
        self.delay = delay
    }
}

/// The queue between the API and the workers. An index, not the record: everything in it can be
/// rebuilt from PostgreSQL by the sweeper.
public protocol JobQueue: Sendable {
    /// Adds jobs the queue does not hold yet; a job it holds in any state (ready, leased, waiting
    /// for a retry) is left alone — except a lease that expired before its worker marked the job
    /// in PostgreSQL, which is taken back. Returns how many were (re)queued.
    @discardableResult
    func enqueue(_ jobs: [QueuedJob]) async throws -> Int
    /// Leases up to `max` jobs, one team at a time round-robin, higher priority first within a
    /// team. Promotes retries that fell due.
    func claim(max: Int, lease: Duration) async throws -> ClaimResult
    /// Extends leases still held; returns the jobs whose lease this worker no longer holds.
    func renew(_ claims: [Claim], lease: Duration) async throws -> Set<UUID>
    /// After settling: forgets the acknowledged jobs, hands the requeued ones back (now or after
    /// their delay) — each only for the current delivery — and tells pollers which completed.
    func finish(acknowledge claims: [Claim], completed: [UUID], requeue: [Requeue]) async throws
    /// Forgets jobs that ended outside a worker (cancelled, expired), whatever their state.
    func remove(_ jobIDs: [UUID], completed: [UUID]) async throws
    /// Puts jobs back as ready whatever their state: the sweeper's repair for leases that expired.
    func reset(_ jobs: [QueuedJob]) async throws
    /// A suspended team's jobs stay queued but are not handed out until it resumes.
    func suspend(teamID: String) async throws
    func resume(teamID: String) async throws
    /// Which of these jobs the queue holds at all.
    func held(_ jobIDs: [UUID]) async throws -> Set<UUID>
    /// Asks whichever worker runs a job to stop its upstream call.
    func publishCancel(_ jobID: UUID) async throws
    /// Channels a process can subscribe to.
    var completedChannel: String { get }
    var cancelChannel: String { get }
}
