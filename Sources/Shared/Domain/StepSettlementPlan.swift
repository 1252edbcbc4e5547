public import Foundation

/// What ending a step-by-step job comes to, decided before anything is written. Its calls kept
/// their reservations when they completed (``SettlementPlan`` records what each would charge as
/// `credits_due`); ending the job settles them all, once:
///
/// - consumption modes: the job is charged for the tokens (or dollars) of all its completed calls
///   together — one rounding for the job, as a job submitted with its work is charged, not one
///   minimum credit per call — capped by what they reserved, and spread over the calls' ledger
///   rows in order; every call's reservation is released. Whether the job ends `completed`,
///   `failed`, `cancelled` or `expired`: the tokens were spent;
/// - `job_based`: the job's own reservation (1 credit, taken at its first call) is charged when
///   the job ends `completed` with at least one completed call, else released.
///
/// Calls that failed, were cancelled or expired released their reservations when they ended.
/// Pure: the store locks the job, reads its calls, builds the plan and writes it.
public struct StepSettlementPlan: Sendable {
    public enum Ending: Sendable, Hashable {
        case completed, failed, cancelled, expired

        public var status: JobStatus {
            switch self {
            case .completed: return .completed
            case .failed: return .failed
            case .cancelled: return .cancelled
            case .expired: return .expired
            }
        }
    }

    /// The step-by-step job, as locked.
    public struct Container: Sendable, Hashable {
        public var jobID: UUID
        public var teamID: String
        public var creditsReserved: Int
        public var reservationNumber: Int

        public init(jobID: UUID, teamID: String, creditsReserved: Int, reservationNumber: Int) {
            self.jobID = jobID
            self.teamID = teamID
            self.creditsReserved = creditsReserved
            self.reservationNumber = reservationNumber
        }
    }

    /// A call of the job that completed and still holds its reservation.
    public struct CompletedCall: Sendable, Hashable {
        public var callID: UUID
        public var creditsReserved: Int
        public var reservationNumber: Int
        public var usage: TokenUsage
        public var costUSD: Decimal

        public init(callID: UUID, creditsReserved: Int, reservationNumber: Int, usage: TokenUsage, costUSD: Decimal) {
            self.callID = callID
            self.creditsReserved = creditsReserved
            self.reservationNumber = reservationNumber
            self.usage = usage
            self.costUSD = costUSD
        }
    }

    /// The job's own charge (`job_based`), and each call's.
    public let containerCharge: Int
    public let callCharges: [UUID: Int]
    /// Releases and charges, for ``LedgerPosting``.
    public let moves: [LedgerPosting.Move]

    /// - Parameter billing: the job's rates (as they were when it was created).
    public init(_ container: Container, completedCalls: [CompletedCall], ending: Ending, billing: BillingSettings) {
        var moves: [LedgerPosting.Move] = []
        var callCharges: [UUID: Int] = [:]
        let reserved = completedCalls.reduce(0) { $0 + max(0, $1.creditsReserved) }
        var left = 0
        if billing.budgetMode != .jobBased && !completedCalls.isEmpty {
            let tokens = completedCalls.reduce(0) { $0 + $1.usage.totalTokens }
            let cost = completedCalls.reduce(Decimal(0)) { $0 + $1.costUSD }
            left = min(Billing.charge(tokens: tokens, costUSD: cost, billing), reserved)
        }
        for call in completedCalls {
            let charge = min(max(0, call.creditsReserved), left)
            left -= charge
            callCharges[call.callID] = charge
            moves.append(
                LedgerPosting.Move(
                    teamID: container.teamID,
                    jobID: call.callID,
                    reservationNumber: call.reservationNumber,
                    release: call.creditsReserved,
                    charge: charge
                )
            )
        }
        let charged = ending == .completed && !completedCalls.isEmpty ? container.creditsReserved : 0
        moves.append(
            LedgerPosting.Move(
                teamID: container.teamID,
                jobID: container.jobID,
                reservationNumber: container.reservationNumber,
                release: container.creditsReserved,
                charge: charged
            )
        )
        self.containerCharge = charged
        self.callCharges = callCharges
        self.moves = moves.filter { !$0.isEmpty }
    }
}
