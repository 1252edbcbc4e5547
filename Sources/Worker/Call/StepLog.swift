import Foundation
import Shared

/// Where a document job keeps its finished steps (`job_steps`, keyed by plan), so that a
/// redelivery resumes where the last one stopped. All ``DocumentRunner`` needs of the job store,
/// and a seam a test can fill in memory.
protocol StepLog: Sendable {
    /// The finished steps of a job's current reservation under one plan.
    func steps(_ jobID: UUID, reservationNumber: Int, plan: String) async throws -> [JobStep]
    /// Keeps a finished step and its call, and counts it in the job's progress — if `claim` still
    /// holds the job (a stale delivery's call is recorded, its step is not).
    func recordStep(_ step: JobStep, claim: Claim, reservationNumber: Int) async throws
}

extension PostgresJobStore: StepLog {}
