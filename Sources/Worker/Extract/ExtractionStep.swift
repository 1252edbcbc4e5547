import Foundation
import Logging
import Shared

/// Where a job's extracted text is kept: the ``JobRunner``'s only need of the job store for
/// uploads, and a seam a test can fill in memory.
protocol ExtractionLog: Sendable {
    func extractedText(_ jobID: UUID) async throws -> StoredExtraction?
    func recordExtraction(
        _ text: ExtractedText,
        milliseconds: Int,
        claim: Claim,
        reservationNumber: Int,
        credits: Int,
        callsPlanned: Int
    ) async throws -> ExtractionRecord
}

extension PostgresJobStore: ExtractionLog {}

/// Extract: the step before an uploaded document's calls. The first delivery reads the upload
/// from the ``DocumentStore`` into a private workspace, extracts its text (``DocumentExtractor``),
/// estimates the job again on the real text and keeps both — the text and the reservation moved
/// to that estimate — in one transaction. Every later delivery reads the text back: a document
/// is extracted once, whatever happens to the worker after.
struct ExtractionStep: Sendable {
    enum Outcome: Sendable {
        /// The text, and the job's reservation number from now on (a new one when extraction
        /// moved the reservation).
        case text(DocumentText, reservationNumber: Int)
        case settle(Settlement.Outcome)
    }

    let documents: any DocumentStore
    let log: any ExtractionLog
    let extractor: any DocumentExtractor
    let estimator: ReservationEstimator
    /// Extractions at once in this worker (each may use `EXTRACTION_MEMORY_MB`).
    var slots = ExtractionSlots(limit: 2)
    /// How long a delivery waits before trying again after trouble of the machine's (a store
    /// that cannot be read, an extractor that cannot be started), and how many deliveries such
    /// trouble may take before the job fails (`MAX_ATTEMPTS`).
    var retryDelay: Duration = .seconds(30)
    var maxAttempts = 5
    let logger: Logger

    func text(for job: ClaimedJob, group: ModelGroup) async -> Outcome {
        do {
            if let kept = try await log.extractedText(job.claim.jobID) {
                return .text(DocumentText(pages: kept.text.pages, showsPages: true), reservationNumber: job.reservationNumber)
            }
        } catch {
            return machineTrouble(job, "cannot read the job's extracted text", error)
        }
        guard let upload = job.work.upload else { return .settle(.failed(code: .invalidRequest, message: "The job has no document")) }
        let started = ContinuousClock.now
        let extracted: ExtractedText
        do {
            extracted = try await slots.run {
                try await withExtractionWorkspace { workspace in
                    let found = try await documents.read(job.claim.jobID) { part in try workspace.append(part) }
                    guard found else { throw ExtractionStepError.documentGone }
                    return try await extractor.extract(workspace.file, kind: upload.kind)
                }
            }
        } catch ExtractionError.cancelled {
            return handBack
        } catch is CancellationError {
            return handBack
        } catch let error as ExtractionError {
            guard error.isDocumentFault else { return machineTrouble(job, "cannot extract the document", error) }
            logger.info(
                "document refused",
                metadata: ["job_id": "\(job.claim.jobID)", "kind": "\(upload.kind.rawValue)", "reason": "\(error)"]
            )
            return .settle(.failed(code: .invalidRequest, message: error.message))
        } catch ExtractionStepError.documentGone {
            return .settle(.failed(code: .invalidRequest, message: "The job's document is no longer stored"))
        } catch {
            return machineTrouble(job, "cannot read the job's document", error)
        }
        let elapsed = ContinuousClock.now - started
        let milliseconds = elapsed.milliseconds
        let document = DocumentText(pages: extracted.pages, showsPages: true)

        // The reservation was taken from the file's size; the calls are planned on the text.
        let chunked = ReservationEstimator.DocumentSize.chunked { room in
            let chunks = Chunker.chunks(document, maxBytes: room * 4)
            return (chunks.count, chunks.reduce(0) { $0 + Billing.estimateTokens($1.text) })
        }
        let (estimate, callsPlanned): (Billing.Estimate, Int)
        switch estimator.estimate(job.work, group: group, document: chunked) {
        case .success(let found): (estimate, callsPlanned) = (found.estimate, found.callsPlanned)
        case .failure(let refusal): return .settle(.failed(code: .contextTooLong, message: refusal.sentence))
        }
        let credits = Billing.reservation(estimate, job.billing)
        do {
            switch try await log.recordExtraction(
                extracted,
                milliseconds: milliseconds,
                claim: job.claim,
                reservationNumber: job.reservationNumber,
                credits: credits,
                callsPlanned: callsPlanned
            ) {
            case .recorded(let reserved, let number):
                logger.info(
                    "document extracted",
                    metadata: [
                        "job_id": "\(job.claim.jobID)", "kind": "\(upload.kind.rawValue)", "pages": "\(extracted.pages.count)",
                        "text_bytes": "\(extracted.byteCount)", "ms": "\(milliseconds)", "reserved": "\(reserved)",
                    ]
                )
                return .text(document, reservationNumber: number)
            case .insufficientCredits(let remaining, let needed):
                return .settle(
                    .failed(
                        code: .invalidRequest,
                        message: "Insufficient credits for the document's text: \(remaining) remaining, \(needed) more needed"
                    )
                )
            case .notHeld:
                // Another delivery holds the job now; the settlement will say so too.
                return .settle(.retry(delay: .zero, countsAttempt: false, message: nil))
            }
        } catch {
            return machineTrouble(job, "cannot keep the extracted text", error)
        }
    }

    /// The job was cancelled or the worker is stopping: back to the queue, no attempt used
    /// (PostgreSQL decides which).
    private var handBack: Outcome { .settle(.retry(delay: .zero, countsAttempt: false, message: nil)) }

    /// The machine's trouble, not the document's: the job comes back later, using an attempt,
    /// and fails at `MAX_ATTEMPTS` — a machine that can never extract does not hold the job and
    /// its reservation until it expires.
    private func machineTrouble(_ job: ClaimedJob, _ what: String, _ error: any Error) -> Outcome {
        logger.warning("\(what)", metadata: ["job_id": "\(job.claim.jobID)", "error": "\(error)"])
        guard job.attempts + 1 < maxAttempts else {
            return .settle(
                .failed(code: .upstreamError, message: "The document's text could not be extracted because of a problem on our side")
            )
        }
        return .settle(.retry(delay: retryDelay, countsAttempt: true, message: "The document's text could not be extracted yet"))
    }
}

private enum ExtractionStepError: Error {
    case documentGone
}
