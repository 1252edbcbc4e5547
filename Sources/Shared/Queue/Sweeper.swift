import Foundation
public import Logging
public import ServiceLifecycle

/// Reconciles the queue with PostgreSQL, the source of truth (SYSTEM.md, guarantee 1): expires
/// overdue jobs, takes back jobs whose lease expired (ending them as `poison` on the third expiry
/// of a dead worker's lease), parks exactly the suspended teams, clears Redis leases of jobs that
/// ended without being acknowledged, and makes sure Redis holds every queued job — after Redis
/// lost its data, or a submitter died between commit and enqueue. Every API and worker process
/// runs one; an advisory lock lets one at a time do the work, so nothing depends on any one
/// process living.
///
/// A sweep costs what changed, not what exists (issue 8, item 15): every PostgreSQL read is on an
/// index of live jobs, and queued jobs are re-enqueued in full only when the queue's marker (see
/// ``SweepMarker``) is gone — Redis lost its data — and otherwise only those changed since the
/// last sweep's watermark.
public struct Sweeper: Service {
    public struct Report: Sendable, Equatable {
        public var expired = 0
        public var leasesRecovered = 0
        /// Of `leasesRecovered`, those whose worker was still alive (not counted toward poison).
        public var leasesOfLiveWorkers = 0
        public var ended = 0
        public var requeued = 0
        /// Whether this sweep re-enqueued every queued job (the marker was missing).
        public var fullReenqueue = false
        /// Queued jobs read from PostgreSQL to re-enqueue.
        public var queuedRead = 0
        public var teamsParked = 0
        public var teamsUnparked = 0
        /// Redis entries of jobs PostgreSQL had already ended, removed.
        public var staleRemoved = 0
        /// Uploads that never became a job's, erased.
        public var uploadsAbandoned = 0
        /// Jobs whose contents were erased because their team's `retention_days` passed.
        public var contentsErased = 0
        /// Answers of keyed batches past `batchAnswerAge`, forgotten.
        public var batchAnswersForgotten = 0
        /// Ended webhook deliveries older than ``Sweeper/deliveryLogAge``, forgotten.
        public var deliveriesForgotten = 0
        /// Teams whose `max_concurrent_jobs` Redis had differently, corrected.
        public var capsCorrected = 0
        /// Whether Redis's fleet-wide pause differed from PostgreSQL's record and was set from it.
        public var pauseCorrected = false
        /// Whether the next watermark was set the fixed ``Sweeper/watermarkLag`` back, because a
        /// transaction of the database may be open unseen (``DatabaseClock/hiddenSessions``):
        /// each pass then re-reads that long of queued jobs. Logged when it changes.
        public var watermarkFixedLag = false

        public init() {}

        /// Whether the sweep changed anything worth a log line.
        var isQuiet: Bool {
            expired == 0 && leasesRecovered == 0 && ended == 0 && requeued == 0 && !fullReenqueue
                && teamsParked == 0 && teamsUnparked == 0 && staleRemoved == 0 && uploadsAbandoned == 0
                && contentsErased == 0 && batchAnswersForgotten == 0 && deliveriesForgotten == 0 && capsCorrected == 0
                && !pauseCorrected
        }
    }

    let jobs: any JobStore
    let queue: any JobQueue
    let workers: WorkerRegistry?
    /// Uploaded documents; nil in a process that stores none.
    let documents: (any DocumentStore)?
    /// Jobs' contents, erased after their team's retention; nil in a process that keeps them.
    let contents: (any JobContentStore)?
    /// Jobs erased per transaction, and at most `retentionBatches` transactions per sweep: a
    /// backlog (a retention just shortened) is worked off over several sweeps, never holding
    /// many rows locked or the sweeper lock for long.
    let retentionBatch: Int
    let retentionBatches: Int
    /// The most a sweep spends on retention.
    let retentionBudget: Duration
    /// The webhook delivery log, whose ended deliveries are forgotten after ``deliveryLogAge``.
    let webhookLog: (any WebhookLogRetention)?
    /// The fleet-wide pause as PostgreSQL records it, which the sweep sets in the queue when they
    /// differ (Redis lost its data); nil: the queue's pause is left as it is.
    let pauses: (any FleetPauseStore)?
    let interval: Duration
    let poisonAfter: Int
    /// How far behind PostgreSQL's clock the watermark stays while a session of the database
    /// hides its transactions from this role (see ``DatabaseClock``): longer than any transaction
    /// that writes `queued` lasts, because a row's `updated_at` is its transaction's start and it
    /// becomes visible only at commit. Otherwise the watermark follows the oldest open
    /// transaction (``nextWatermark(_:before:)``).
    let watermarkLag: Duration
    /// Slack under the oldest open transaction's start: a backend takes its transaction's start
    /// time a moment before `pg_stat_activity` shows it.
    let watermarkMargin: Duration
    /// Suspensions changed in Redis this recently are left to the API process that made them.
    let suspensionGrace: Duration
    /// A Redis lease expired this long ago is checked against PostgreSQL.
    let staleLeaseGrace: Duration
    /// The queue's gauges, set from the queue's census (``JobStore/queueStats(census:)``: counts
    /// from Redis, each team's oldest job from PostgreSQL) by the sweep that held the lock (one
    /// reader for the fleet); nil sets none.
    let queueGauges: QueueGauges?
    /// Counts the jobs the sweep's transactions ended and the credits they charged, once each
    /// commits (`saas_jobs_finished_total`, `saas_credits_charged_total`).
    let settlements: SettlementMetrics
    /// This process's view of the database's clock between its passes (a step back that the
    /// watermark alone cannot show; see ``ClockStepWatch``).
    let clockSteps: ClockStepWatch
    let logger: Logger

    /// `workers`, the registry the process was built with, tells a live worker's expired lease
    /// from a dead one's; nil (a queue no worker heartbeats into) counts every expiry.
    public init(
        jobs: any JobStore,
        queue: any JobQueue,
        workers: WorkerRegistry?,
        documents: (any DocumentStore)? = nil,
        contents: (any JobContentStore)? = nil,
        retentionBatch: Int = 100,
        retentionBatches: Int = 10,
        retentionBudget: Duration = .seconds(2),
        webhookLog: (any WebhookLogRetention)? = nil,
        pauses: (any FleetPauseStore)? = nil,
        interval: Duration,
        poisonAfter: Int = 3,
        watermarkLag: Duration = .seconds(60),
        watermarkMargin: Duration = .seconds(5),
        suspensionGrace: Duration = .seconds(10),
        staleLeaseGrace: Duration = .seconds(5),
        queueGauges: QueueGauges? = .ifMetricsEnabled(),
        settlements: SettlementMetrics = SettlementMetrics(),
        clockSteps: ClockStepWatch? = nil,
        logger: Logger
    ) {
        self.jobs = jobs
        self.queue = queue
        self.workers = workers
        self.documents = documents
        self.contents = contents
        self.retentionBatch = retentionBatch
        self.retentionBatches = retentionBatches
        self.retentionBudget = retentionBudget
        self.webhookLog = webhookLog
        self.pauses = pauses
        self.interval = interval
        self.poisonAfter = poisonAfter
        self.watermarkLag = watermarkLag
        self.watermarkMargin = watermarkMargin
        self.suspensionGrace = suspensionGrace
        self.staleLeaseGrace = staleLeaseGrace
        self.queueGauges = queueGauges
        self.settlements = settlements
        self.clockSteps = clockSteps ?? ClockStepWatch()
        self.logger = logger
    }

    /// How long a keyed batch's answer is kept for replays.
    public static let batchAnswerAge: Duration = .seconds(7 * 86_400)
    /// How long an ended webhook delivery stays in the team's delivery log.
    public static let deliveryLogAge: Duration = .seconds(30 * 86_400)

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var fixedLag = false
            while !Task.isCancelled {
                do {
                    if let report = try await sweepOnce() {
                        if report.watermarkFixedLag != fixedLag {
                            fixedLag = report.watermarkFixedLag
                            logWatermarkMode(fixedLag: fixedLag)
                        }
                        if !report.isQuiet { logSweep(report) }
                    }
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("sweep failed", metadata: ["error": "\(error)"])
                }
                // Spread the sweepers of several processes apart.
                let jitter = Double.random(in: 0.8...1.2)
                try? await Task.sleep(for: interval * jitter)
            }
        }
    }

    private func logSweep(_ report: Report) {
        logger.info(
            "sweep",
            metadata: [
                "expired": "\(report.expired)", "leases_recovered": "\(report.leasesRecovered)",
                "leases_of_live_workers": "\(report.leasesOfLiveWorkers)", "ended": "\(report.ended)",
                "requeued": "\(report.requeued)", "full_reenqueue": "\(report.fullReenqueue)",
                "teams_parked": "\(report.teamsParked)", "teams_unparked": "\(report.teamsUnparked)",
                "stale_removed": "\(report.staleRemoved)", "uploads_abandoned": "\(report.uploadsAbandoned)",
                "contents_erased": "\(report.contentsErased)", "batch_answers_forgotten": "\(report.batchAnswersForgotten)",
                "deliveries_forgotten": "\(report.deliveriesForgotten)", "caps_corrected": "\(report.capsCorrected)",
                "pause_corrected": "\(report.pauseCorrected)",
            ]
        )
    }

    /// Says why each pass re-reads a minute of queued jobs, once when it starts and once when it
    /// stops: at 6,000 submits a second a fixed lag of 60 s is ~360,000 rows a pass, which an
    /// operator should be able to trace to the session that causes it.
    private func logWatermarkMode(fixedLag: Bool) {
        if fixedLag {
            logger.notice(
                "a transaction of this database may be open where this role cannot see it (a session of another role: grant this one pg_read_all_stats; track_activities off; a prepared transaction): each sweep re-reads the queued jobs of the fixed lag",
                metadata: ["watermark_lag_seconds": "\(watermarkLag.components.seconds)"]
            )
        } else {
            logger.info("the sweep's watermark follows the oldest open transaction again")
        }
    }

    /// One pass; nil when another process holds the sweeper lock.
    public func sweepOnce() async throws -> Report? {
        let report: Report?
        do {
            report = try await sweepLocked()
        } catch {
            // No figures read this time (PostgreSQL down, say): the last ones would stay up for
            // good and an autoscaler keep scaling on them. Another process's sweep, or this
            // one's next, sets them again.
            queueGauges?.clear()
            throw error
        }
        // Another process swept: its figures are the fleet's, this one's would go stale.
        if report == nil { queueGauges?.clear() }
        return report
    }

    private func sweepLocked() async throws -> Report? {
        try await jobs.withSweeperLock {
            var report = Report()
            try await expireOverdue(&report)
            try await recoverExpiredLeases(&report)
            // Before any re-enqueue: a job enqueued for a team Redis forgot was suspended would be
            // handed out, refused and requeued on every worker until the team resumed.
            try await reconcileSuspensions(&report)
            try await reconcilePause(&report)
            // Every sweep, not only after a data loss: two admins' PUTs can reach Redis in the
            // other order than they committed. PostgreSQL's caps are the truth (a few teams).
            report.capsCorrected = try await queue.reconcileConcurrencyCaps(try await jobs.concurrencyCaps())
            try await clearStaleLeases(&report)
            try await reenqueue(&report)
            // An upload whose submit never came (its API process died between the two, or the
            // clean-up after a refusal was lost) is erased after an hour; never one with a job.
            report.uploadsAbandoned = try await documents?.deleteAbandoned(olderThan: .seconds(3600)) ?? 0
            try await eraseRetained(&report)
            // A batch's Idempotency-Key answers the same for a week (API.md promises at least
            // 24 h; a week outlives every job the batch made, whose expiry is at most 7 days).
            report.batchAnswersForgotten = try await jobs.forgetBatchAnswers(olderThan: Self.batchAnswerAge, limit: 1000)
            report.deliveriesForgotten = try await webhookLog?.forgetEndedDeliveries(olderThan: Self.deliveryLogAge, limit: 1000) ?? 0
            await readQueueGauges()
            return report
        }
    }

    /// The queue per team, as `GET /api/admin/queue` shows it, into the gauges. Metrics never
    /// fail a sweep: a failed read is logged and the gauges go to 0 (stale figures would keep an
    /// autoscaler scaling on a queue nobody reads).
    private func readQueueGauges() async {
        guard let queueGauges else { return }
        do {
            queueGauges.record(try await queueStats())
        } catch is CancellationError {
            return
        } catch {
            queueGauges.clear()
            logger.warning("queue gauges not read", metadata: ["error": "\(error)"])
        }
    }

    /// The per-team figures of the gauges. A queue that counts its own jobs (``QueueCensus``: Redis)
    /// gives the counts and PostgreSQL only each team's oldest queued job, one index probe per
    /// team, so the read costs the teams, not the backlog (issue 13, item 4); otherwise the
    /// store's aggregate over the live jobs.
    public func queueStats() async throws -> [TeamQueueStats] {
        try await jobs.queueStats(census: queue)
    }

    /// Retention: the contents of jobs that ended more than their team's `retention_days` ago are
    /// erased as `DELETE /api/jobs/{id}` erases them, a small batch per transaction, within a
    /// time budget per sweep (a backlog — a retention just shortened — is worked off over several
    /// sweeps without delaying the next one's lease recovery). The erase re-checks each job under
    /// its lock (one an admin retried meanwhile keeps everything); the files of those erased go
    /// after it commits, each tried twice, a failure logged (the tenant's DELETE removes them).
    private func eraseRetained(_ report: inout Report) async throws {
        guard let contents else { return }
        let deadline = ContinuousClock.now + retentionBudget
        for _ in 0..<retentionBatches where ContinuousClock.now < deadline {
            let due = try await contents.pastRetention(limit: retentionBatch)
            let erased = try await contents.eraseContents(of: due)
            report.contentsErased += erased.count
            if let documents {
                for id in erased {
                    for attempt in 1...2 {
                        do {
                            try await documents.delete(id)
                            break
                        } catch  where attempt < 2 {
                            continue
                        } catch {
                            logger.error("retention: an erased job's file was not deleted", metadata: ["job_id": "\(id)", "error": "\(error)"])
                        }
                    }
                }
            }
            if due.count < retentionBatch { break }
        }
    }

    private func expireOverdue(_ report: inout Report) async throws {
        while true {
            let (expired, tally) = try await jobs.expireOverdueTallied(limit: 1000)
            // Committed: counted once, whatever Redis does next.
            settlements.record(tally)
            try await queue.remove(expired, completed: expired)
            report.expired += expired.count
            if expired.count < 1000 { break }
        }
    }

    /// Takes back expired leases. Only a dead worker's expiry counts toward poison (item 12): a
    /// worker still heartbeating lost its lease to something else (PostgreSQL down longer than
    /// the lease, a settlement that never landed), and the job owes it nothing.
    private func recoverExpiredLeases(_ report: inout Report) async throws {
        let alive = try await workers?.aliveWorkers() ?? [:]
        while true {
            let (recovered, tally) = try await jobs.recoverExpiredLeases(limit: 1000, poisonAfter: poisonAfter, aliveWorkers: alive)
            // Committed: counted once, whatever Redis does next.
            settlements.record(tally)
            let ended = recovered.filter(\.ended).map(\.job.jobID)
            try await queue.remove(ended, completed: ended)
            try await queue.reset(recovered.filter { !$0.ended }.map(\.job))
            report.leasesRecovered += recovered.count
            report.leasesOfLiveWorkers += recovered.filter { !$0.counted && !$0.ended }.count
            report.ended += ended.count
            if recovered.count < 1000 { break }
        }
    }

    /// Parks exactly the teams PostgreSQL says are suspended (item 8): after Redis lost its data
    /// a suspended team's jobs would spin through claim → refuse → requeue, and a lost resume
    /// would park an active team until its jobs expire.
    private func reconcileSuspensions(_ report: inout Report) async throws {
        let suspended = try await jobs.suspendedTeams()
        let (parked, unparked) = try await queue.reconcileSuspended(suspended, grace: suspensionGrace)
        report.teamsParked += parked
        report.teamsUnparked += unparked
        if parked > 0 || unparked > 0 {
            logger.warning("the queue's suspended teams differed from PostgreSQL's", metadata: ["parked": "\(parked)", "unparked": "\(unparked)"])
        }
    }

    /// Sets the queue's fleet-wide pause from PostgreSQL's record when they differ: after Redis
    /// lost its data a paused fleet would otherwise claim again. PostgreSQL is read first; the
    /// queue compares and sets in one step, leaving a pause changed within ``suspensionGrace`` to
    /// the admin call that changed it (its record may have committed after this read).
    private func reconcilePause(_ report: inout Report) async throws {
        guard let pauses, let recorded = try await pauses.recorded() else { return }
        guard try await queue.reconcilePause(recorded.paused, grace: suspensionGrace) else { return }
        report.pauseCorrected = true
        logger.warning("the queue's pause differed from PostgreSQL's; set from PostgreSQL", metadata: ["paused": "\(recorded.paused)"])
    }

    /// Redis leases that expired a while ago and were never acknowledged or renewed (item 20):
    /// a worker died between its settlement's commit and its acknowledgement, or Redis lost the
    /// acknowledgement. Jobs PostgreSQL ended are forgotten; queued ones are enqueued again
    /// (which takes the expired lease back, and honours `retry_at`); running ones are left to the
    /// lease recovery. Only expired leases are read, so this costs what is broken.
    private func clearStaleLeases(_ report: inout Report) async throws {
        var offset = 0
        let pageSize = 1000
        while true {
            let ids = try await queue.expiredLeases(olderThan: staleLeaseGrace, offset: offset, limit: pageSize)
            if ids.isEmpty { break }
            let states = try await jobs.queueStates(ids)
            var finished: [UUID] = []
            var queued: [QueuedJob] = []
            var left = 0
            for id in ids {
                switch states[id] {
                case nil: finished.append(id)
                case let state? where state.status.isTerminal: finished.append(id)
                case let state? where state.status == .queued: queued.append(state.job)
                default: left += 1
                }
            }
            try await queue.remove(finished, completed: [])
            report.staleRemoved += finished.count
            report.requeued += try await queue.enqueue(queued)
            if ids.count < pageSize { break }
            offset += left
        }
    }

    /// How far the next pass must reach back: to the start of the oldest transaction still open
    /// (whose rows, committed later, carry that `updated_at`), less ``watermarkMargin``, and never
    /// past `before`. With nothing long open that is the sweep interval and a few seconds, where
    /// a fixed lag of a minute re-read every queued job of the last minute on every pass (in a
    /// 20 s submit benchmark, 248,649 rows and 3.3 s of statement time). A session this role cannot
    /// see could hold any transaction: then the fixed ``watermarkLag``.
    func nextWatermark(_ clock: DatabaseClock, before: Date) -> Date {
        if clock.hiddenSessions {
            return before.addingTimeInterval(-Double(watermarkLag.milliseconds) / 1000)
        }
        let covered = min(before, clock.oldestOpenTransaction ?? before)
        return covered.addingTimeInterval(-Double(watermarkMargin.milliseconds) / 1000)
    }

    /// Makes sure Redis holds every queued job, reading only what it may be missing: all queued
    /// jobs when the marker is gone (Redis lost its data), else those changed since the watermark.
    private func reenqueue(_ report: inout Report) async throws {
        let sent = ContinuousClock.now
        let clock = try await jobs.databaseClock()
        let stepped = clockSteps.steppedBack(.init(database: clock.now, sent: sent, answered: .now))
        report.watermarkFixedLag = clock.hiddenSessions
        // Jobs changed within the last second are left to their submitter.
        let before = clock.now.addingTimeInterval(-1)
        let nextWatermark = nextWatermark(clock, before: before)
        let pageSize = 5000
        let marker = try await queue.sweepMarker()
        // The database's clock went back (a correction of the server's time): rows written since
        // may carry times under the watermark, which no incremental pass would read again. One
        // full pass covers them; it costs the backlog once, as after a loss of Redis's data. A
        // watermark ahead of the clock shows it to any process; this process's own readings show
        // a step the clock has made up since (``ClockStepWatch``).
        let clockWentBack = stepped || (marker.watermark.map { $0 > before } ?? false)
        if clockWentBack {
            // Owed until a full pass completes, however this one ends.
            clockSteps.owe()
            logger.warning(
                "the database's clock went back (it was set back); re-enqueueing every queued job once",
                metadata: ["watermark": "\(marker.watermark.map { "\($0)" } ?? "none")", "database_now": "\(clock.now)"]
            )
        }
        if let epoch = marker.epoch, let watermark = marker.watermark, !clockWentBack {
            var cursor: SweepCursor?
            repeat {
                let page = try await jobs.queuedJobs(changedSince: watermark, before: before, after: cursor, limit: pageSize)
                report.queuedRead += page.jobs.count
                report.requeued += try await queue.enqueue(page.jobs)
                cursor = page.next
            } while cursor != nil
            // Never backwards: a lagging clock must not shrink what the next pass covers... nor
            // skip it — the watermark only moves to what this pass has covered.
            if nextWatermark > watermark {
                try await queue.advanceSweepMarker(epoch: epoch, watermark: nextWatermark)
            }
        } else {
            report.fullReenqueue = true
            let started = try await queue.beginFullReenqueue()
            var cursor: SweepCursor?
            repeat {
                let page = try await jobs.queuedJobs(after: cursor, limit: pageSize)
                report.queuedRead += page.jobs.count
                report.requeued += try await queue.enqueue(page.jobs)
                cursor = page.next
            } while cursor != nil
            if let epoch = started.epoch, !(try await queue.advanceSweepMarker(epoch: epoch, watermark: nextWatermark)) {
                logger.warning("the queue lost its data during a full re-enqueue; the next sweep starts over")
            }
            // Every queued job is in the queue as of this pass's reading of the clock.
            clockSteps.swept()
        }
    }
}
