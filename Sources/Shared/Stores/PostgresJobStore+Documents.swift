public import Foundation
import Postgres

/// What recording a job's extracted text came to.
public enum ExtractionRecord: Sendable, Hashable {
    /// Kept, and the reservation moved to the estimate of the real text: `reserved` credits
    /// under reservation `reservationNumber` (a new one when the amount changed).
    case recorded(reserved: Int, reservationNumber: Int)
    /// Kept, but the real text needs more credits than were reserved and the balance cannot
    /// cover the difference: the job cannot run.
    case insufficientCredits(remaining: Int, needed: Int)
    /// The claim no longer holds the job (a stale delivery): nothing was written.
    case notHeld
}

/// An extracted text as stored, with how long its extraction took.
public struct StoredExtraction: Sendable, Hashable {
    public var text: ExtractedText
    public var extractionMilliseconds: Int
    public var createdAt: Date

    public init(text: ExtractedText, extractionMilliseconds: Int, createdAt: Date) {
        self.text = text
        self.extractionMilliseconds = extractionMilliseconds
        self.createdAt = createdAt
    }
}

extension PostgresJobStore {
    /// The text a worker extracted from the job's uploaded document, if any.
    public func extractedText(_ jobID: UUID) async throws -> StoredExtraction? {
        let rows = try await postgres.query(
            "SELECT content, extraction_ms, created_at FROM document_texts WHERE job_id = $1",
            [.uuid(jobID)]
        )
        guard let row = rows.first else { return nil }
        return StoredExtraction(
            text: ExtractedText(joined: try row.decode("content")),
            extractionMilliseconds: try row.decode("extraction_ms"),
            createdAt: try row.decode("created_at")
        )
    }

    /// Keeps a job's extracted text and, in the same transaction, moves its reservation from the
    /// upper bound the file's size gave at submit to `credits` (the real text's estimate). A
    /// reservation is one amount, reserved once and released once (the ledger holds one row of
    /// each per reservation): so the submit's reservation is released whole and a new one — the
    /// job's next `reservation_number`, as an admin retry makes — is taken for `credits`, unless
    /// the amount is the same. When the text came out larger than the file and the balance cannot
    /// cover the difference, nothing is written. Only while `claim` holds the job; a text kept
    /// before (an earlier delivery) is kept as it was and the reservation not moved again.
    public func recordExtraction(
        _ text: ExtractedText,
        milliseconds: Int,
        claim: Claim,
        reservationNumber: Int,
        credits: Int,
        callsPlanned: Int
    ) async throws -> ExtractionRecord {
        try await postgres.withTransaction { tx in
            let held = try await tx.query(Self.extractionHoldStatement(claim: claim, reservationNumber: reservationNumber))
            guard let job = held.first else { return .notHeld }
            let teamID: String = try job.decode("team_id")
            let reserved: Int = try job.decode("credits_reserved")
            let kept = try await tx.query("SELECT 1 FROM document_texts WHERE job_id = $1", [.uuid(claim.jobID)])
            guard kept.isEmpty else { return .recorded(reserved: reserved, reservationNumber: reservationNumber) }
            var number = reservationNumber
            if credits != reserved {
                let remaining = try await LedgerWriter.lockAccounts([teamID], tx)[teamID] ?? 0
                if credits - reserved > remaining { return .insufficientCredits(remaining: remaining, needed: credits - reserved) }
                number += 1
                let moves = [
                    LedgerPosting.Move(teamID: teamID, jobID: claim.jobID, reservationNumber: reservationNumber, release: reserved),
                    LedgerPosting.Move(teamID: teamID, jobID: claim.jobID, reservationNumber: number, reserve: credits),
                ]
                try await LedgerWriter.write(LedgerPosting(moves, remaining: [teamID: remaining]), tx)
            }
            try await tx.query(
                "INSERT INTO document_texts (job_id, pages, content, extraction_ms) VALUES ($1, $2, $3, $4)",
                [.uuid(claim.jobID), .int(text.pages.count), .text(text.joined.storable), .int(max(0, milliseconds))]
            )
            try await tx.query(
                """
                UPDATE jobs SET credits_reserved = $2, reservation_number = $3, calls_planned = $4, updated_at = now()
                WHERE job_id = $1
                """,
                [.uuid(claim.jobID), .int(credits), .int(number), .int(callsPlanned)]
            )
            return .recorded(reserved: credits, reservationNumber: number)
        }
    }

    /// Locks the job `claim` still holds (running, under the same reservation) and reads what its
    /// extraction needs. The status is tested inside `CASE`: see ``PostgresJobStore``, "Jobs found
    /// by id".
    static func extractionHoldStatement(claim: Claim, reservationNumber: Int) -> PostgresStatement {
        PostgresStatement(
            """
            SELECT team_id, credits_reserved FROM jobs
            WHERE job_id = $1 AND lease_token = $2 AND reservation_number = $3
              AND CASE WHEN status = 'in_progress' THEN true ELSE false END
            FOR UPDATE
            """,
            [.uuid(claim.jobID), .uuid(claim.token), .int(reservationNumber)]
        )
    }
}
