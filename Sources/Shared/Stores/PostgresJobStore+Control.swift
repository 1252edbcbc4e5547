public import Foundation
import Postgres

extension PostgresJobStore {
    public func cancel(_ jobID: UUID) async throws -> Job {
        try await cancelTallied(jobID).0
    }

    public func cancelTallied(_ jobID: UUID) async throws -> (Job, SettlementTally) {
        try await postgres.withTransaction { tx in
            // A step-by-step job is cancelled with its calls, locked calls first: a worker settling
            // one of them locks the call, then the job (`lockHeldJobs`), and the one order keeps
            // the two from deadlocking.
            let kind = try await tx.query(
                "SELECT model_group IS NULL AND parent_job_id IS NULL AS container FROM jobs WHERE job_id = $1",
                [.uuid(jobID)]
            )
            if try kind.first?.decode("container", as: Bool.self) == true {
                let tally = try await Self.cancelContainer(jobID, tx)
                let job = try Self.decodeJob(try await tx.query("SELECT \(Self.jobColumns) FROM jobs WHERE job_id = $1", [.uuid(jobID)]).first!)
                return (job, tally)
            }
            guard
                let row = try await tx.query(
                    "SELECT team_id, status, credits_reserved, reservation_number, parent_job_id IS NOT NULL AS call FROM jobs WHERE job_id = $1 FOR UPDATE",
                    [.uuid(jobID)]
                ).first
            else { throw DomainError.jobNotFound }
            let status = JobStatus(rawValue: try row.decode("status")) ?? .failed
            var tally = SettlementTally()
            switch status {
            case .completed, .failed, .cancelled, .expired:
                throw DomainError.jobAlreadyTerminal(status)
            case .pending, .queued:
                // A step-by-step job's call is no finished job of its own.
                if try !row.decode("call", as: Bool.self) { tally.end(try row.decode("team_id"), .cancelled) }
                try await tx.query(
                    """
                    UPDATE jobs SET status = 'cancelled', error_code = 'cancelled', error_message = 'The job was cancelled',
                           completed_at = now(), lease_token = NULL, lease_expires_at = NULL, retry_at = NULL, updated_at = now()
                    WHERE job_id = $1
                    """,
                    [.uuid(jobID)]
                )
                try await LedgerWriter.apply(
                    [
                        LedgerWriter.Move(
                            teamID: try row.decode("team_id"),
                            jobID: jobID,
                            reservationNumber: try row.decode("reservation_number"),
                            release: try row.decode("credits_reserved")
                        )
                    ],
                    tx
                )
            case .inProgress:
                // The worker running it aborts its call and settles it as cancelled.
                try await tx.query("UPDATE jobs SET status = 'cancelling', updated_at = now() WHERE job_id = $1", [.uuid(jobID)])
            case .cancelling:
                break
            }
            let job = try Self.decodeJob(try await tx.query("SELECT \(Self.jobColumns) FROM jobs WHERE job_id = $1", [.uuid(jobID)]).first!)
            return (job, tally)
        }
    }

    public func retry(_ jobID: UUID) async throws -> (Job, QueuedJob) {
        try await postgres.withTransaction { tx in
            guard
                let row = try await tx.query(
                    """
                    SELECT team_id, status, priority, credits_reserved, reservation_number, content_erased_at IS NOT NULL AS erased,
                           model_group IS NULL OR parent_job_id IS NOT NULL AS step_by_step
                    FROM jobs WHERE job_id = $1 FOR UPDATE
                    """,
                    [.uuid(jobID)]
                ).first
            else { throw DomainError.jobNotFound }
            let status = JobStatus(rawValue: try row.decode("status")) ?? .failed
            // A step-by-step job and its calls settle together through `complete`: retrying one
            // of them alone would reserve outside that settlement.
            guard try !row.decode("step_by_step", as: Bool.self) else { throw DomainError.stepByStepNotRetryable }
            guard status == .failed else { throw DomainError.jobNotRetryable(status) }
            guard try !row.decode("erased", as: Bool.self) else { throw DomainError.jobContentErased }
            let teamID: String = try row.decode("team_id")
            let amount: Int = try row.decode("credits_reserved")
            let number: Int = try row.decode("reservation_number") + 1
            let remaining = try await LedgerWriter.lockAccounts([teamID], tx)[teamID] ?? 0
            guard amount <= remaining else { throw DomainError.insufficientCredits(remaining: remaining, needed: amount) }
            try await tx.query(
                """
                UPDATE jobs SET status = 'queued', reservation_number = $2, credits_charged = 0, result = NULL,
                       prompt_tokens = NULL, completion_tokens = NULL, cost_usd = NULL, error_code = NULL, error_message = NULL,
                       completed_at = NULL, attempts = 0, lease_expiries = 0, calls_done = 0, retry_at = NULL,
                       lease_token = NULL, lease_expires_at = NULL,
                       expires_at = GREATEST(expires_at, now() + (expires_at - created_at)), updated_at = now()
                WHERE job_id = $1
                """,
                [.uuid(jobID), .int(number)]
            )
            try await LedgerWriter.apply([LedgerWriter.Move(teamID: teamID, jobID: jobID, reservationNumber: number, reserve: amount)], tx)
            let job = try Self.decodeJob(try await tx.query("SELECT \(Self.jobColumns) FROM jobs WHERE job_id = $1", [.uuid(jobID)]).first!)
            return (job, QueuedJob(jobID: jobID, teamID: teamID, priority: try row.decode("priority")))
        }
    }

    /// Ends jobs past `expires_at` (pending ones too) and releases their reservations.
    public func expireOverdue(limit: Int) async throws -> [UUID] {
        try await expireOverdueTallied(limit: limit).0
    }

    public func expireOverdueTallied(limit: Int) async throws -> ([UUID], SettlementTally) {
        try await postgres.withPipelinedTransaction(kind: .sweep) { tx in
            let rows = try await tx.query(
                """
                WITH t AS (
                    SELECT job_id FROM jobs
                    WHERE status IN ('pending', 'queued', 'in_progress', 'cancelling') AND expires_at < now()
                    ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
                )
                UPDATE jobs j SET status = 'expired', error_code = 'expired', error_message = 'The job expired before it could complete',
                       completed_at = now(), lease_token = NULL, lease_expires_at = NULL, retry_at = NULL, updated_at = now()
                FROM t WHERE j.job_id = t.job_id
                RETURNING j.job_id, j.team_id, j.credits_reserved, j.reservation_number,
                          j.model_group IS NULL AND j.parent_job_id IS NULL AS container, j.parent_job_id IS NOT NULL AS call
                """,
                [.int(limit)]
            )
            var moves: [LedgerWriter.Move] = []
            var containers: [UUID] = []
            var tally = SettlementTally()
            for row in rows {
                let jobID: UUID = try row.decode("job_id")
                if try !row.decode("call", as: Bool.self) { tally.end(try row.decode("team_id"), .expired) }
                moves.append(
                    LedgerWriter.Move(
                        teamID: try row.decode("team_id"),
                        jobID: jobID,
                        reservationNumber: try row.decode("reservation_number"),
                        release: try row.decode("credits_reserved")
                    )
                )
                if try row.decode("container", as: Bool.self) { containers.append(jobID) }
            }
            moves += try await Self.settleCompletedCalls(of: containers, tx)
            // The ledger's write goes with COMMIT: the accounts are held for that round trip only.
            let ledger = try await LedgerWriter.lockAndPlan(moves, tx)
            tally.charge(moves)
            let value = (try rows.map { try $0.decode("job_id", as: UUID.self) }, tally)
            return PostgresCommit([ledger].compactMap { $0 }, value: value)
        }
    }

    /// Takes back jobs whose lease expired: queued again, or ended as `poison` on the
    /// `poisonAfter`-th expiry (or `cancelled` when a cancel was waiting). Only a dead worker's
    /// expiry counts toward poison: a job whose worker is in `aliveWorkers` and whose lease
    /// expired within what that worker's heartbeats vouch for (see
    /// ``WorkerRegistry/aliveWorkers()``) — its lease ran out through a PostgreSQL outage or a
    /// settlement that never landed — goes back uncounted (issue 8, item 12).
    public func recoverExpiredLeases(
        limit: Int,
        poisonAfter: Int,
        aliveWorkers: [String: Date]
    ) async throws -> (leases: [ExpiredLease], tally: SettlementTally) {
        let workers = aliveWorkers.sorted { $0.key < $1.key }
        return try await postgres.withPipelinedTransaction(kind: .sweep) { tx in
            let rows = try await tx.query(
                """
                WITH alive AS (
                    SELECT w.id, timestamptz 'epoch' + w.until_ms::bigint * interval '1 millisecond' AS vouched
                    FROM unnest($3::text[], $4::text[]) AS w(id, until_ms)
                ),
                t AS (
                    SELECT j.job_id, j.status = 'in_progress' AND NOT EXISTS (
                               SELECT 1 FROM alive a WHERE a.id = j.worker_id AND j.lease_expires_at <= a.vouched
                           ) AS counted
                    FROM jobs j
                    WHERE j.status IN ('in_progress', 'cancelling') AND j.lease_expires_at < now()
                    ORDER BY j.lease_expires_at LIMIT $1 FOR UPDATE OF j SKIP LOCKED
                )
                UPDATE jobs j SET
                    lease_expiries = j.lease_expiries + CASE WHEN t.counted THEN 1 ELSE 0 END,
                    status = CASE WHEN j.status = 'cancelling' THEN 'cancelled'
                                  WHEN t.counted AND j.lease_expiries + 1 >= $2 THEN 'failed' ELSE 'queued' END,
                    error_code = CASE WHEN j.status = 'cancelling' THEN 'cancelled'
                                      WHEN t.counted AND j.lease_expiries + 1 >= $2 THEN 'poison' END,
                    error_message = CASE WHEN j.status = 'cancelling' THEN 'The job was cancelled'
                                         WHEN t.counted AND j.lease_expiries + 1 >= $2 THEN 'The job was abandoned by its worker ' || $2 || ' times' END,
                    completed_at = CASE WHEN j.status = 'cancelling' OR (t.counted AND j.lease_expiries + 1 >= $2) THEN now() END,
                    lease_token = NULL, lease_expires_at = NULL, updated_at = now()
                FROM t WHERE j.job_id = t.job_id
                RETURNING j.job_id, j.team_id, j.priority, j.status, j.credits_reserved, j.reservation_number, t.counted,
                          j.parent_job_id IS NOT NULL AS is_call
                """,
                [
                    .int(limit), .int(poisonAfter), .textArray(workers.map(\.key)),
                    .textArray(workers.map { String($0.value.queueMilliseconds) }),
                ]
            )
            var recovered: [ExpiredLease] = []
            var moves: [LedgerWriter.Move] = []
            var tally = SettlementTally()
            for row in rows {
                let jobID: UUID = try row.decode("job_id")
                let teamID: String = try row.decode("team_id")
                let status = JobStatus(rawValue: try row.decode("status")) ?? .failed
                let ended = status.isTerminal
                if ended, !(try row.decode("is_call", as: Bool.self)) {
                    tally.ended[SettlementTally.Ended(teamID: teamID, status: status), default: 0] += 1
                }
                if ended {
                    moves.append(
                        LedgerWriter.Move(
                            teamID: teamID,
                            jobID: jobID,
                            reservationNumber: try row.decode("reservation_number"),
                            release: try row.decode("credits_reserved")
                        )
                    )
                }
                recovered.append(
                    ExpiredLease(
                        job: QueuedJob(jobID: jobID, teamID: teamID, priority: try row.decode("priority")),
                        ended: ended,
                        counted: try row.decode("counted")
                    )
                )
            }
            // The ledger's write goes with COMMIT: the accounts are held for that round trip only.
            return PostgresCommit([try await LedgerWriter.lockAndPlan(moves, tx)].compactMap { $0 }, value: (leases: recovered, tally: tally))
        }
    }

    /// Every queued job, a page at a time by (expires_at, job id) on the live jobs' index: the
    /// full re-enqueue after Redis lost its data. Jobs younger than a second are left to their
    /// submitter, which enqueues right after commit (the next incremental pass covers them).
    public func queuedJobs(after cursor: SweepCursor?, limit: Int) async throws -> (jobs: [QueuedJob], next: SweepCursor?) {
        let rows = try await postgres.query(
            """
            SELECT job_id, team_id, priority, retry_at, (extract(epoch FROM expires_at) * 1000000)::bigint AS position FROM jobs
            WHERE status = 'queued' AND model_group IS NOT NULL AND created_at < now() - interval '1 second'
              AND ($1::bigint IS NULL OR (expires_at, job_id) > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::uuid))
            ORDER BY expires_at, job_id LIMIT $3
            """,
            [PostgresBind(cursor.map { Int($0.micros) }), PostgresBind(cursor?.jobID), .int(limit)]
        )
        return try Self.page(rows, limit: limit)
    }

    /// Queued jobs whose row changed in [since, before), a page at a time by (updated_at, job id):
    /// what Redis may be missing although it did not lose its data — a submit committed but not
    /// enqueued, an admin retry whose enqueue failed, a requeue whose Redis half was lost.
    public func queuedJobs(
        changedSince since: Date,
        before: Date,
        after cursor: SweepCursor?,
        limit: Int
    ) async throws -> (jobs: [QueuedJob], next: SweepCursor?) {
        let rows = try await postgres.query(
            """
            SELECT job_id, team_id, priority, retry_at, (extract(epoch FROM updated_at) * 1000000)::bigint AS position FROM jobs
            WHERE status = 'queued' AND updated_at >= $1 AND updated_at < $2 AND model_group IS NOT NULL
              AND ($3::bigint IS NULL OR (updated_at, job_id) > (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::uuid))
            ORDER BY updated_at, job_id LIMIT $5
            """,
            [.timestamp(since), .timestamp(before), PostgresBind(cursor.map { Int($0.micros) }), PostgresBind(cursor?.jobID), .int(limit)]
        )
        return try Self.page(rows, limit: limit)
    }

    private static func page(_ rows: PostgresRows, limit: Int) throws -> (jobs: [QueuedJob], next: SweepCursor?) {
        var jobs: [QueuedJob] = []
        var next: SweepCursor?
        for row in rows {
            let jobID: UUID = try row.decode("job_id")
            jobs.append(
                QueuedJob(
                    jobID: jobID,
                    teamID: try row.decode("team_id"),
                    priority: try row.decode("priority"),
                    retryAt: try row.decodeIfPresent("retry_at", as: Date.self)
                )
            )
            next = SweepCursor(micros: Int64(try row.decode("position", as: Int.self)), jobID: jobID)
        }
        return (jobs, rows.count == limit ? next : nil)
    }

    /// PostgreSQL's clock: the sweeper's watermarks compare with `updated_at`, written by it.
    /// `pg_stat_activity` shows each session's `xact_start`, which is that transaction's `now()`,
    /// so the `updated_at` of everything it writes. Another role's sessions show
    /// `<insufficient privilege>` instead (autovacuum's, which write no job, have no role), a
    /// session with `track_activities` off shows `disabled`, and a prepared transaction shows in
    /// no session: each counts as hidden.
    public func databaseClock() async throws -> DatabaseClock {
        let rows = try await postgres.query(
            """
            SELECT now() AS now,
                   (SELECT min(xact_start) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()) AS oldest,
                   EXISTS (SELECT 1 FROM pg_stat_activity
                            WHERE datname = current_database() AND pid <> pg_backend_pid() AND usesysid IS NOT NULL
                              AND (query = '<insufficient privilege>' OR state = 'disabled'))
                   OR EXISTS (SELECT 1 FROM pg_prepared_xacts WHERE database = current_database()) AS hidden
            """
        )
        guard let row = rows.first else { throw PostgresError.missingColumn("now") }
        return DatabaseClock(
            now: try row.decode("now"),
            oldestOpenTransaction: try row.decodeIfPresent("oldest", as: Date.self),
            hiddenSessions: try row.decode("hidden")
        )
    }

    /// The teams whose jobs the queue must park.
    public func suspendedTeams() async throws -> [String] {
        try await postgres.query("SELECT team_id FROM teams WHERE status = 'suspended' ORDER BY team_id")
            .map { try $0.decode("team_id", as: String.self) }
    }

    /// The status of each of these jobs that exists, with what the queue needs to hold it.
    public func queueStates(_ jobIDs: [UUID]) async throws -> [UUID: JobQueueState] {
        guard !jobIDs.isEmpty else { return [:] }
        let rows = try await postgres.query(
            "SELECT job_id, team_id, priority, status, retry_at FROM jobs WHERE job_id = ANY($1::uuid[])",
            [.textArray(jobIDs.map(\.lowercasedString))]
        )
        var states: [UUID: JobQueueState] = [:]
        for row in rows {
            let jobID: UUID = try row.decode("job_id")
            states[jobID] = JobQueueState(
                job: QueuedJob(
                    jobID: jobID,
                    teamID: try row.decode("team_id"),
                    priority: try row.decode("priority"),
                    retryAt: try row.decodeIfPresent("retry_at", as: Date.self)
                ),
                status: JobStatus(rawValue: try row.decode("status")) ?? .failed
            )
        }
        return states
    }

    public func withSweeperLock<T: Sendable>(_ body: () async throws -> T) async throws -> T? {
        try await postgres.withConnection { session in
            let locked = try await session.query("SELECT pg_try_advisory_lock($1) AS locked", [.int(Self.sweeperLockKey)])
            guard try locked.first?.decode("locked", as: Bool.self) == true else { return nil }
            do {
                let value = try await body()
                try await session.query("SELECT pg_advisory_unlock($1)", [.int(Self.sweeperLockKey)])
                return value
            } catch {
                _ = try? await session.query("SELECT pg_advisory_unlock($1)", [.int(Self.sweeperLockKey)])
                throw error
            }
        }
    }
}
