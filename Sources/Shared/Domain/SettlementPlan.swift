public import Foundation

/// What a batch of settlements comes to, decided before anything is written: which deliveries
/// still hold their jobs, each such job's final state (a cancel recorded meanwhile wins), its
/// charge — `min(actual, reserved)`, and only when it completes — the release of its reservation
/// when it ends, which calls are billed, and the ledger moves.
///
/// Pure: the store locks the jobs these deliveries hold (lease token and live status), builds the
/// plan, writes ``jobs`` and the calls, then locks the accounts and writes ``posting(remaining:)``.
public struct SettlementPlan: Sendable {
    /// A job as the transaction locked it.
    public struct HeldJob: Sendable, Hashable {
        public var jobID: UUID
        public var teamID: String
        public var status: JobStatus
        public var leaseToken: UUID?
        public var creditsReserved: Int
        public var reservationNumber: Int
        /// A call of a step-by-step job that is still open: when it completes it keeps its
        /// reservation and records its charge as due, for the job's `complete` to settle
        /// (``StepSettlementPlan``).
        public var defersCharge: Bool
        /// A call of a step-by-step job (it has a parent job), open or not: its end is not a
        /// finished job's (``SettlementTally``).
        public var isCall: Bool

        public init(
            jobID: UUID,
            teamID: String,
            status: JobStatus,
            leaseToken: UUID?,
            creditsReserved: Int,
            reservationNumber: Int,
            defersCharge: Bool = false,
            isCall: Bool = false
        ) {
            self.jobID = jobID
            self.teamID = teamID
            self.status = status
            self.leaseToken = leaseToken
            self.creditsReserved = creditsReserved
            self.reservationNumber = reservationNumber
            self.defersCharge = defersCharge
            self.isCall = isCall
        }

        /// Whether the delivery under `claim` may settle it: its lease token still holds the job
        /// and the job is running (or being cancelled).
        func isHeld(by claim: Claim) -> Bool {
            jobID == claim.jobID && leaseToken == claim.token && (status == .inProgress || status == .cancelling)
        }
    }

    /// A settled job's row, as it is to be written.
    public struct JobWrite: Sendable, Hashable {
        public var jobID: UUID
        public var status: JobStatus
        /// The answer, its usage and cost: only for a completed job.
        public var result: JSONValue?
        public var usage: TokenUsage?
        public var costUSD: Decimal?
        /// `min(actual, reserved)` for a completed job, else 0.
        public var creditsCharged: Int
        /// A completed call of an open step-by-step job: what it will be charged (and then
        /// ``creditsCharged`` is 0 and its reservation stays).
        public var creditsDue: Int?
        /// A call of an open step-by-step job (``HeldJob/defersCharge``): the job counts it when it ends.
        public var isOpenCall: Bool = false
        public var errorCode: String?
        /// At most 2,000 characters of a failure's message.
        public var errorMessage: String?
        /// Added to `attempts`: 1 when the delivery reached the upstream (and, for a retry, counts).
        public var attemptIncrement: Int
        /// Added to `calls_done`.
        public var calls: Int
        /// When back in the queue: the wait before its retry, in milliseconds; else nil.
        public var retryDelayMS: Int?

        public var ended: Bool { status.isTerminal }
    }

    /// One per settlement, in order.
    public let results: [SettleResult]
    /// One per job that settled (held by a delivery of this batch).
    public let jobs: [JobWrite]
    /// Every call of every delivery, with its lease token; billed only for a job that completed.
    public let calls: [(call: JobCall, token: UUID)]
    /// The ended jobs' releases and charges.
    public let moves: [LedgerPosting.Move]

    /// - Parameter held: the jobs the deliveries' lease tokens hold, as locked.
    public init(_ settlements: [Settlement], held: [HeldJob]) {
        var heldByID: [UUID: HeldJob] = [:]
        for job in held { heldByID[job.jobID] = job }
        var final: [UUID: JobStatus] = [:]
        var jobs: [JobWrite] = []
        var moves: [LedgerPosting.Move] = []
        for settlement in settlements {
            let jobID = settlement.claim.jobID
            guard final[jobID] == nil, let job = heldByID[jobID], job.isHeld(by: settlement.claim) else { continue }
            let write = Self.write(settlement, job)
            final[jobID] = write.status
            jobs.append(write)
            if write.ended && write.creditsDue == nil {
                moves.append(
                    LedgerPosting.Move(
                        teamID: job.teamID,
                        jobID: jobID,
                        reservationNumber: job.reservationNumber,
                        release: job.creditsReserved,
                        charge: write.creditsCharged
                    )
                )
            }
        }
        self.jobs = jobs
        self.moves = moves
        // Answers and billing go by job: a batch holding two deliveries of one job (only one of
        // which can hold its lease) answers both as the job settled.
        self.results = settlements.map { settlement in
            guard let status = final[settlement.claim.jobID] else { return .lost }
            return status == .queued ? .requeued : .settled(status)
        }
        self.calls = settlements.flatMap { settlement in
            settlement.calls.map { call in
                var call = call
                call.billed = final[settlement.claim.jobID] == .completed
                return (call, settlement.claim.token)
            }
        }
    }

    /// The ledger rows and account changes of ``moves``, from the accounts' balances locked after
    /// the jobs (the account rows are held for as short a time as can be).
    public func posting(remaining: [String: Int], newID: () -> UUID = UUID.random) -> LedgerPosting {
        LedgerPosting(moves, remaining: remaining, newID: newID)
    }

    /// The final state of a job its delivery holds.
    static func write(_ settlement: Settlement, _ job: HeldJob) -> JobWrite {
        var write = JobWrite(
            jobID: job.jobID,
            status: .failed,
            creditsCharged: 0,
            attemptIncrement: countsAttempt(settlement) ? 1 : 0,
            calls: settlement.progress
        )
        write.isOpenCall = job.defersCharge
        if job.status == .cancelling {
            // A cancel recorded while the job ran wins over whatever the delivery brought.
            write.status = .cancelled
            write.errorCode = JobErrorCode.cancelled.rawValue
            write.errorMessage = "The job was cancelled"
            return write
        }
        switch settlement.outcome {
        case .completed(let result, let usage, let costUSD, let charge):
            write.status = .completed
            write.result = result
            write.usage = usage
            write.costUSD = costUSD
            write.creditsCharged = min(charge, job.creditsReserved)
            if job.defersCharge {
                write.creditsDue = write.creditsCharged
                write.creditsCharged = 0
            }
        case .failed(let code, let message):
            write.status = .failed
            write.errorCode = code.rawValue
            write.errorMessage = String(message.prefix(2000))
        case .expired:
            write.status = .expired
            write.errorCode = JobErrorCode.expired.rawValue
            write.errorMessage = "The job expired before it could complete"
        case .retry(let delay, _, let message):
            write.status = .queued
            write.errorMessage = message.map { String($0.prefix(2000)) }
            write.retryDelayMS = max(0, delay.milliseconds)
        }
        return write
    }

    /// Whether a delivery counts in its job's `attempts`: it reached the upstream, and is not a
    /// retry that does not count (a 429, a hand-back).
    static func countsAttempt(_ settlement: Settlement) -> Bool {
        if case .retry(_, let counts, _) = settlement.outcome { return settlement.reachedUpstream && counts }
        return settlement.reachedUpstream
    }
}
