import Foundation
import Postgres

/// The text of new job rows that no reservation decides — each job's request and metadata as
/// JSON, its expiry as a timestamp —, encoded before the submit's transaction begins. Every job
/// of a team writes that team's account row, so the account's lock is what concurrent submits of
/// one team queue on: encoding a thousand requests while holding it would make every other
/// submitter of the team wait for it. Built once, it also serves the transaction's retries.
struct PreparedJobRows: Sendable {
    /// Per submission, in order: the work as JSON (nil for a job without work yet).
    let requests: [String?]
    let metadata: [String?]
    let expiresAt: [String?]

    init(_ submissions: [JobSubmission]) {
        requests = submissions.map { $0.work.map { JSONText.encode($0) } }
        metadata = submissions.map { $0.metadata.jsonText() }
        expiresAt = submissions.map { PostgresTimestamp.format($0.expiresAt) }
    }
}
