import Shared

/// What the ``JobPipeline`` asks of the call step (``JobRunner``): one delivery of a job, turned
/// into its ``Settlement``. A job cancelled while it runs (its owner, a lost lease, the end of
/// the shutdown's grace period) answers a retry that counts no attempt: PostgreSQL decides which.
protocol JobRunning: Sendable {
    func run(_ job: ClaimedJob) async -> Settlement
}

extension JobRunner: JobRunning {}
