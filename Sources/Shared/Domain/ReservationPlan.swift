public import Foundation

/// What a batch of submissions comes to, money-wise, decided before anything is written: each
/// request's reservation under its team's rates, taken from the balance the requests before it
/// left (in batch order), or why it is not created (a replay, a conflict, too few credits, no such
/// team) — and the ledger rows and account changes the reservations make.
///
/// Pure: the store locks the accounts and reads earlier jobs under the same Idempotency-Keys,
/// builds the plan, then writes the jobs of ``accepted`` and the ``posting``.
public struct ReservationPlan: Sendable {
    /// A team's account as the transaction locked it.
    public struct Account: Sendable, Hashable {
        public var remaining: Int
        public var billing: BillingSettings

        public init(remaining: Int, billing: BillingSettings) {
            self.remaining = remaining
            self.billing = billing
        }
    }

    /// An Idempotency-Key is a team's own: the same key of two teams names two jobs.
    public struct IdempotencyScope: Sendable, Hashable {
        public var teamID: String
        public var key: String

        public init(teamID: String, key: String) {
            self.teamID = teamID
            self.key = key
        }
    }

    /// The part of a submission the money decision reads.
    public struct Request: Sendable, Hashable {
        public var jobID: UUID
        public var teamID: String
        /// The most the job can use; nil reserves nothing (a `pending` job).
        public var estimate: Billing.Estimate?
        public var idempotencyKey: String?
        public var requestHash: [UInt8]?

        public init(jobID: UUID, teamID: String, estimate: Billing.Estimate?, idempotencyKey: String?, requestHash: [UInt8]?) {
            self.jobID = jobID
            self.teamID = teamID
            self.estimate = estimate
            self.idempotencyKey = idempotencyKey
            self.requestHash = requestHash
        }

        var scope: IdempotencyScope? { idempotencyKey.map { IdempotencyScope(teamID: teamID, key: $0) } }
    }

    /// A job created earlier under a request's Idempotency-Key, as it is now.
    public struct EarlierJob: Sendable, Hashable {
        public var jobID: UUID
        public var requestHash: [UInt8]?
        public var status: JobStatus
        public var createdAt: Date
        public var creditsReserved: Int
        /// Created without work (answered as `pending` when it was).
        public var pending: Bool

        public init(jobID: UUID, requestHash: [UInt8]?, status: JobStatus, createdAt: Date, creditsReserved: Int, pending: Bool) {
            self.jobID = jobID
            self.requestHash = requestHash
            self.status = status
            self.createdAt = createdAt
            self.creditsReserved = creditsReserved
            self.pending = pending
        }
    }

    public enum Decision: Sendable, Hashable {
        /// A new job, reserving `credits` under the team's rates as they are now (the job keeps
        /// a copy of them: its charge is priced as its reservation was).
        case reserve(credits: Int, billing: BillingSettings)
        /// The same key and request as an earlier job: that job's answer.
        case replay(EarlierJob)
        /// The same key and request as the request at this index, earlier in this batch and
        /// reserved: answered as that job, once written.
        case repeatOf(Int)
        /// The same key with another request.
        case idempotencyConflict
        case insufficientCredits(remaining: Int, needed: Int)
        /// The team (or its account) is gone.
        case teamNotFound
    }

    /// A request to create: its index in the batch, its reservation and the rates it was priced at.
    public struct Reservation: Sendable, Hashable {
        public var index: Int
        public var credits: Int
        public var billing: BillingSettings
    }

    /// One per request, in order.
    public let decisions: [Decision]
    /// The requests to create, in order.
    public let accepted: [Reservation]
    /// The reservations' ledger rows and account changes, from the locked balances.
    public let posting: LedgerPosting

    /// - Parameters:
    ///   - accounts: the requests' teams' accounts, locked; a team missing here is not found.
    ///   - earlier: jobs already created under the requests' Idempotency-Keys.
    ///   - newID: the ledger rows' transaction ids (fixed in tests).
    public init(
        _ requests: [Request],
        accounts: [String: Account],
        earlier: [IdempotencyScope: EarlierJob] = [:],
        newID: () -> UUID = UUID.random
    ) {
        var remaining = accounts.mapValues(\.remaining)
        var decisions: [Decision] = []
        var accepted: [Reservation] = []
        var moves: [LedgerPosting.Move] = []
        var firstInBatch: [IdempotencyScope: Int] = [:]
        decisions.reserveCapacity(requests.count)
        for (index, request) in requests.enumerated() {
            decisions.append(
                Self.decide(
                    request,
                    accounts: accounts,
                    earlier: earlier,
                    firstInBatch: firstInBatch,
                    requests: requests,
                    remaining: remaining[request.teamID, default: 0]
                )
            )
            guard case .reserve(let credits, let billing) = decisions[index] else { continue }
            remaining[request.teamID, default: 0] -= credits
            accepted.append(Reservation(index: index, credits: credits, billing: billing))
            moves.append(LedgerPosting.Move(teamID: request.teamID, jobID: request.jobID, reservationNumber: 1, reserve: credits))
            if let scope = request.scope { firstInBatch[scope] = index }
        }
        self.decisions = decisions
        self.accepted = accepted
        self.posting = LedgerPosting(moves, remaining: accounts.mapValues(\.remaining), newID: newID)
    }

    /// One request, against the balance the requests before it left. The order of the checks is
    /// the answer's precedence: an unknown team, then an earlier job under the key, then an
    /// earlier request of this batch under the key, then the balance.
    private static func decide(
        _ request: Request,
        accounts: [String: Account],
        earlier: [IdempotencyScope: EarlierJob],
        firstInBatch: [IdempotencyScope: Int],
        requests: [Request],
        remaining: Int
    ) -> Decision {
        guard let account = accounts[request.teamID] else { return .teamNotFound }
        if let scope = request.scope, let job = earlier[scope] {
            return job.requestHash == request.requestHash ? .replay(job) : .idempotencyConflict
        }
        if let scope = request.scope, let first = firstInBatch[scope] {
            return requests[first].requestHash == request.requestHash ? .repeatOf(first) : .idempotencyConflict
        }
        let credits = request.estimate.map { Billing.reservation($0, account.billing) } ?? 0
        guard credits <= remaining else { return .insufficientCredits(remaining: remaining, needed: credits) }
        return .reserve(credits: credits, billing: account.billing)
    }
}
