public import Foundation

/// A job as the queue knows it: enough to order it (team, priority), nothing of its content.
/// PostgreSQL holds the job itself.
public struct QueuedJob: Sendable, Hashable {
    public var jobID: UUID
    public var teamID: String
    /// 0–9, higher first within the team.
    public var priority: Int
    /// When a job waiting for a retry falls due (`jobs.retry_at`); nil or past: ready now.
    public var retryAt: Date?

    public init(jobID: UUID, teamID: String, priority: Int, retryAt: Date? = nil) {
        self.jobID = jobID
        self.teamID = teamID
        self.priority = priority
        self.retryAt = retryAt
    }
}

/// What the sweeper left in the queue about its last re-enqueue. Absent — Redis lost its data, or
/// never had a sweep — the sweeper re-enqueues every queued job; present, only the jobs changed
/// since `watermark`.
public struct SweepMarker: Sendable, Hashable {
    /// Which full re-enqueue this marker belongs to; nil when there is no marker.
    public var epoch: String?
    /// PostgreSQL time up to which queued jobs are known to be in the queue; nil while a full
    /// re-enqueue has not completed.
    public var watermark: Date?

    public init(epoch: String?, watermark: Date?) {
        self.epoch = epoch
        self.watermark = watermark
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
    /// Claiming is paused fleet-wide (``JobQueue/setPaused(_:)``): nothing was leased, and
    /// waiting for work would return at once while teams have ready jobs — the claimer waits
    /// for the resume instead.
    public var paused: Bool

    public init(claims: [Claim], nextRetryDue: Duration?, paused: Bool = false) {
        self.claims = claims
        self.nextRetryDue = nextRetryDue
        self.paused = paused
    }
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

/// The queue between the API and the workers: a driver in the swift-jobs sense. An index, not the
/// record: everything in it can be rebuilt from PostgreSQL by the sweeper.
///
/// API and worker see only this protocol. A driver owns its store's connections, subscriptions
/// and key layout: ``RedisJobQueue`` in production (one script per verb, so one round trip per
/// batch), ``MemoryJobQueue`` for tests of the pieces built on it. Both keep the same rules,
/// which `QueueTests` checks on each.
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
    /// (A job's `retryAt` is not looked at: a job whose lease expired is due.)
    func reset(_ jobs: [QueuedJob]) async throws
    /// A suspended team's jobs stay queued but are not handed out until it resumes.
    func suspend(teamID: String) async throws
    func resume(teamID: String) async throws
    /// Which of these jobs the queue holds at all.
    func held(_ jobIDs: [UUID]) async throws -> Set<UUID>
    /// Caps how many of the team's jobs are leased at once (`max_concurrent_jobs`; nil: no cap).
    /// A team at its cap is out of the round robin — its jobs wait holding no worker slot — and
    /// back in when one of its leases ends.
    func setConcurrencyCap(teamID: String, cap: Int?) async throws
    /// How many of the team's jobs wait in the queue: ready (parked included) and scheduled for a
    /// retry; leased ones are not waiting.
    func waitingCount(teamID: String) async throws -> Int

    // The sweeper's reconciliation.
    /// Makes the parked teams exactly `suspendedTeams` (PostgreSQL's `teams.status`), except teams
    /// suspended or resumed within `grace`; resumed teams' parked jobs become claimable again.
    @discardableResult
    func reconcileSuspended(_ suspendedTeams: [String], grace: Duration) async throws -> (parked: Int, unparked: Int)
    /// Makes the caps exactly `caps` (PostgreSQL's `max_concurrent_jobs`): every sweep, since
    /// Redis may have lost its data or heard two changes in the other order than they
    /// committed. Returns how many teams' caps changed.
    @discardableResult
    func reconcileConcurrencyCaps(_ caps: [String: Int]) async throws -> Int
    /// Jobs whose lease expired more than `grace` ago, oldest first, a page at a time.
    func expiredLeases(olderThan grace: Duration, offset: Int, limit: Int) async throws -> [UUID]
    /// The marker of the last re-enqueue (see ``SweepMarker``).
    func sweepMarker() async throws -> SweepMarker
    /// Starts a full re-enqueue: a new epoch, no watermark until it completes.
    func beginFullReenqueue() async throws -> SweepMarker
    /// Records that queued jobs changed before `watermark` are in the queue — unless the marker's
    /// epoch changed (Redis lost its data meanwhile). Returns whether it was recorded.
    @discardableResult
    func advanceSweepMarker(epoch: String, watermark: Date) async throws -> Bool
    /// Asks whichever worker runs a job to stop its upstream call.
    func publishCancel(_ jobID: UUID) async throws

    // Runtime control (an admin's fleet-wide pause).
    /// Pauses (true) or resumes (false) every claim, fleet-wide. Paused, a claim leases nothing
    /// and says so (``ClaimResult/paused``); every other verb works as ever, so running jobs
    /// renew, settle and are swept. The claim reads the state itself, atomically: once this
    /// returns, no claim leases until the resume. Each call is announced (``pauseChanges()``),
    /// so idle claimers look again at once after a resume.
    @discardableResult
    func setPaused(_ paused: Bool) async throws -> QueuePause
    /// Sets the pause to `paused` (PostgreSQL's record) unless it already is so or was changed
    /// within `grace`, in one step on the queue's clock; true when it set it.
    func reconcilePause(_ paused: Bool, grace: Duration) async throws -> Bool
    /// The pause as it stands (``QueuePause/changed`` is false).
    func pauseState() async throws -> QueuePause
    /// Each ``setPaused(_:)``: true for a pause, false for a resume. Hints, as ``completions()``
    /// are: a claimer that missed a resume sees it at its next look.
    func pauseChanges() -> AsyncStream<Bool>

    // Waiting and announcements.
    /// Returns once some team may have ready jobs — at once when one has — or after `timeout`;
    /// the caller claims next. An idle worker waits here instead of polling. A retry falling due
    /// does not end the wait (the claimer bounds `timeout` by ``ClaimResult/nextRetryDue``).
    /// Cancelling the waiting task ends the wait at once, with `CancellationError`.
    func waitForWork(timeout: Duration) async throws
    /// Jobs that ended, as ``finish(acknowledge:completed:requeue:)`` and ``remove(_:completed:)``
    /// announce them: long polls wake on them. Each call is a subscription of its own, live until
    /// its consumer stops iterating. Announcements are hints (one made while the subscription
    /// reconnects is lost): a waiter re-reads PostgreSQL at its deadline.
    func completions() -> AsyncStream<UUID>
    /// Jobs whose owner cancelled them (``publishCancel(_:)``): the worker running one stops its
    /// call. Hints as ``completions()`` are; lease renewal is the backstop.
    func cancellations() -> AsyncStream<UUID>
    /// Why this queue could lose jobs it holds (Redis evicting keys under memory pressure), or
    /// nil: a process refuses to start on such a queue.
    func durabilityProblem() async throws -> String?
    /// Round trips to the queue's store since the process started, for the benchmarks' "round
    /// trips per job" (SYSTEM.md); nil for a driver without one.
    var roundTrips: Int? { get }
}

extension JobQueue {
    public func durabilityProblem() async throws -> String? { nil }
    public var roundTrips: Int? { nil }
}
