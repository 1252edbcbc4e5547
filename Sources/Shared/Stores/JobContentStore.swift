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
    /// Up to `limit` ended jobs whose team's `retention_days` have passed since they ended and
    /// whose contents are still there, oldest first.
    func pastRetention(limit: Int) async throws -> [UUID]
    /// Erases the contents of these jobs as ``eraseContents(_:)`` does, in one transaction, and
    /// returns those it erased: only jobs still ended and not yet erased when locked (one an
    /// admin retried meanwhile is live again and keeps everything).
    func eraseContents(of jobIDs: [UUID]) async throws -> [UUID]
}

extension PostgresJobStore: JobContentStore {
    public func eraseContents(_ jobID: UUID) async throws -> Job {
        try await postgres.withTransaction { tx in
            let rows = try await tx.query("SELECT status FROM jobs WHERE job_id = $1 FOR UPDATE", [.uuid(jobID)])
            guard let row = rows.first else { throw DomainError.jobNotFound }
            let status = JobStatus(rawValue: try row.decode("status", as: String.self)) ?? .failed
            guard status.isTerminal else { throw DomainError.jobNotFinished(status) }
            try await Self.erase([jobID], tx)
            guard let erased = try await tx.query("SELECT \(Self.jobColumns) FROM jobs WHERE job_id = $1", [.uuid(jobID)]).first else {
                throw DomainError.jobNotFound
            }
            return try Self.decodeJob(erased)
        }
    }

    public func pastRetention(limit: Int) async throws -> [UUID] {
        // Per team with a retention, its oldest ended jobs past it: the partial index
        // `jobs_retention` holds only ended jobs whose contents are still there.
        try await postgres.query(
            """
            SELECT d.job_id FROM teams t CROSS JOIN LATERAL (
                SELECT job_id, completed_at FROM jobs
                WHERE team_id = t.team_id AND content_erased_at IS NULL AND completed_at IS NOT NULL
                  AND parent_job_id IS NULL AND completed_at < now() - make_interval(days => t.retention_days)
                ORDER BY completed_at LIMIT $1
            ) d
            WHERE t.retention_days IS NOT NULL
            ORDER BY d.completed_at LIMIT $1
            """,
            [.int(limit)]
        ).map { try $0.decode("job_id", as: UUID.self) }
    }

    public func eraseContents(of jobIDs: [UUID]) async throws -> [UUID] {
        guard !jobIDs.isEmpty else { return [] }
        return try await postgres.withTransaction(kind: .sweep) { tx in
            let ended = try await tx.query(
                """
                SELECT job_id FROM jobs
                WHERE job_id = ANY($1::uuid[]) AND completed_at IS NOT NULL AND content_erased_at IS NULL
                ORDER BY job_id FOR UPDATE
                """,
                [.textArray(jobIDs.map(\.lowercasedString))]
            ).map { try $0.decode("job_id", as: UUID.self) }
            try await Self.erase(ended, tx)
            return ended
        }
    }

    /// Erases the contents of ended jobs (and of their calls, a step-by-step job's, all ended with
    /// it): request, result, steps, extracted text. Ids, status, usage, costs and ledger rows stay.
    private static func erase(_ ids: [UUID], _ tx: PostgresSession) async throws {
        guard !ids.isEmpty else { return }
        let bind = PostgresBind.textArray(ids.map(\.lowercasedString))
        try await tx.query(
            """
            UPDATE jobs SET request = NULL, result = NULL, content_erased_at = COALESCE(content_erased_at, now()), updated_at = now()
            WHERE (job_id = ANY($1::uuid[]) OR parent_job_id = ANY($1::uuid[])) AND completed_at IS NOT NULL
            """,
            [bind]
        )
        try await tx.query(
            """
            DELETE FROM job_steps WHERE job_id = ANY($1::uuid[])
               OR job_id IN (SELECT job_id FROM jobs WHERE parent_job_id = ANY($1::uuid[]))
            """,
            [bind]
        )
        try await tx.query("DELETE FROM document_texts WHERE job_id = ANY($1::uuid[])", [bind])
    }
}
