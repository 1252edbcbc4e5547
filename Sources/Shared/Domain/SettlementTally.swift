import Foundation

/// What committed settlements came to per team: the jobs that ended, by status, and the credits
/// charged. ``SettlementMetrics`` counts them once per committed transaction
/// (`saas_jobs_finished_total`, `saas_credits_charged_total`) from what was written, so the
/// figures are the ledger's, not an estimate made beside it.
///
/// A call of a step-by-step job is a jobs row of its own, but no job a client submitted: its end
/// is not counted (the job's own end is, once), its charge is (whenever the ledger takes it).
public struct SettlementTally: Sendable, Hashable {
    /// A team and a terminal status.
    public struct Ended: Sendable, Hashable {
        public var teamID: String
        public var status: JobStatus

        public init(teamID: String, status: JobStatus) {
            self.teamID = teamID
            self.status = status
        }
    }

    /// Jobs that reached a terminal status, per team and status.
    public var ended: [Ended: Int] = [:]
    /// Credits charged per team (a call of an open step-by-step job charges nothing yet: its
    /// job's `complete` does).
    public var charged: [String: Int] = [:]

    public init() {}

    /// The tally of a plan, whose jobs `held` names (the plan's jobs are all among them).
    public init(_ plan: SettlementPlan, held: [SettlementPlan.HeldJob]) {
        var teams: [UUID: String] = [:]
        for job in held where !job.isCall && !job.defersCharge { teams[job.jobID] = job.teamID }
        for job in plan.jobs where job.ended {
            // A step-by-step job's call (or a job not held): not a finished job.
            guard let team = teams[job.jobID] else { continue }
            end(team, job.status)
        }
        charge(plan.moves)
    }

    /// `count` of `teamID`'s jobs ended as `status`.
    public mutating func end(_ teamID: String, _ status: JobStatus, count: Int = 1) {
        guard count > 0 else { return }
        ended[Ended(teamID: teamID, status: status), default: 0] += count
    }

    /// The charges among ledger moves a transaction wrote.
    public mutating func charge(_ moves: [LedgerPosting.Move]) {
        for move in moves where move.charge > 0 {
            charged[move.teamID, default: 0] += move.charge
        }
    }

    /// Adds another committed batch's tally (a batch split to isolate a bad settlement commits
    /// in parts).
    public mutating func add(_ other: SettlementTally) {
        ended.merge(other.ended, uniquingKeysWith: +)
        charged.merge(other.charged, uniquingKeysWith: +)
    }

    public var isEmpty: Bool { ended.isEmpty && charged.isEmpty }
}
