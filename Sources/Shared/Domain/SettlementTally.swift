import Foundation

/// What committed settlements came to per team: the jobs that ended, by status, and the credits
/// charged. The worker's metrics count them once per settled batch (`saas_jobs_finished_total`,
/// `saas_credits_charged_total`) from the plan that was written, so the figures are the ledger's,
/// not an estimate made beside it.
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
        for job in held { teams[job.jobID] = job.teamID }
        for job in plan.jobs where job.ended {
            guard let team = teams[job.jobID] else { continue }
            ended[Ended(teamID: team, status: job.status), default: 0] += 1
        }
        for move in plan.moves where move.charge > 0 {
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
