public import Foundation
import Postgres

/// A job's contents beyond its row: the text extracted from its document, and erasing what it
/// holds of its owner's data (`DELETE /api/jobs/{id}`, retention). The uploaded bytes themselves
/// are the ``DocumentStore``'s.
public protocol JobContentStore: Sendable {
    /// The text a worker extracted from the job's uploaded document, nil until then.
    func extractedText(_ jobID: UUID) async throws -> StoredExtraction?
    /// Erases a finished job's request, result, steps' contents and extracted text (and those of
    /// its calls), keeping ids, status, usage, costs and ledger rows. Erasing twice is erasing
    /// once. Refusals: ``DomainError/jobNotFound``, ``DomainError/jobNotFinished(_:)``.
    func eraseContents(_ jobID: UUID) async throws -> Job
}

extension PostgresJobStore: JobContentStore {
    public func eraseContents(_ jobID: UUID) async throws -> Job {
        try await postgres.withTransaction { tx in
            let rows = try await tx.query("SELECT status FROM jobs WHERE job_id = $1 FOR UPDATE", [.uuid(jobID)])
            guard let row = rows.first else { throw DomainError.jobNotFound }
            let status = JobStatus(rawValue: try row.decode("status", as: String.self)) ?? .failed
            guard status.isTerminal else { throw DomainError.jobNotFinished(status) }
            // The job and its calls (a step-by-step job's; all ended with it).
            try await tx.query(
                """
                UPDATE jobs SET request = NULL, result = NULL, content_erased_at = COALESCE(content_erased_at, now()), updated_at = now()
                WHERE (job_id = $1 OR parent_job_id = $1) AND completed_at IS NOT NULL
                """,
                [.uuid(jobID)]
            )
            try await tx.query(
                """
                DELETE FROM job_steps WHERE job_id = $1 OR job_id IN (SELECT job_id FROM jobs WHERE parent_job_id = $1)
                """,
                [.uuid(jobID)]
            )
            try await tx.query("DELETE FROM document_texts WHERE job_id = $1", [.uuid(jobID)])
            guard let erased = try await tx.query("SELECT \(Self.jobColumns) FROM jobs WHERE job_id = $1", [.uuid(jobID)]).first else {
                throw DomainError.jobNotFound
            }
            return try Self.decodeJob(erased)
        }
    }
}
