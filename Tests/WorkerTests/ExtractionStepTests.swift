import Foundation
import Logging
import Shared
import Synchronization
import SystemPackage
import Testing

@testable import Worker

/// Bytes in memory, as the PostgreSQL store keeps them: parts in order.
private final class MemoryDocuments: DocumentStore {
    let partSize = 4
    let parts = Mutex<[UUID: [[UInt8]]]>([:])

    func begin(_ id: UUID, teamID: String) async throws { parts.withLock { $0[id] = [] } }
    func append(_ id: UUID, part number: Int, bytes: [UInt8]) async throws { parts.withLock { $0[id, default: []].append(bytes) } }
    func finish(_ id: UUID, _ document: StoredDocument) async throws {}
    func attach(_ id: UUID) async throws {}
    func document(_ id: UUID) async throws -> StoredDocument? { nil }
    func read(_ id: UUID, _ body: ([UInt8]) async throws -> Void) async throws -> Bool {
        let stored = parts.withLock { $0[id] } ?? []
        for part in stored { try await body(part) }
        return !stored.isEmpty
    }
    func delete(_ id: UUID) async throws { _ = parts.withLock { $0.removeValue(forKey: id) } }
    func deleteAbandoned(olderThan age: Duration) async throws -> Int { 0 }
}

/// What the step asked the job store to keep, and what the store answers.
private final class MemoryExtractionLog: ExtractionLog {
    let kept = Mutex<StoredExtraction?>(nil)
    let recorded = Mutex<[(credits: Int, calls: Int)]>([])
    let answer: ExtractionRecord?

    init(answer: ExtractionRecord? = nil) { self.answer = answer }

    func extractedText(_ jobID: UUID) async throws -> StoredExtraction? { kept.withLock { $0 } }

    func recordExtraction(
        _ text: ExtractedText,
        milliseconds: Int,
        claim: Claim,
        reservationNumber: Int,
        credits: Int,
        callsPlanned: Int
    ) async throws -> ExtractionRecord {
        recorded.withLock { $0.append((credits, callsPlanned)) }
        return answer ?? .recorded(reserved: credits, reservationNumber: reservationNumber + 1)
    }
}

/// Reads the file back as one page per line, or fails as told; counts its runs.
private final class FakeExtractor: DocumentExtractor {
    let failure: ExtractionError?
    let runs = Mutex(0)

    init(failure: ExtractionError? = nil) { self.failure = failure }

    func extract(_ file: FilePath, kind: DocumentKind) async throws(ExtractionError) -> ExtractedText {
        runs.withLock { $0 += 1 }
        if let failure { throw failure }
        let text = (try? String(contentsOfFile: file.string, encoding: .utf8)) ?? ""
        return ExtractedText(pages: text.split(separator: "\n").map(String.init))
    }
}

@Suite("ExtractionStep: an upload's text extracted once, its reservation moved, failures classed")
struct ExtractionStepTests {
    private let group = ModelGroup(
        groupName: "group",
        displayName: "g",
        models: [ModelEntry(modelName: "m", provider: "p", priority: 0, contextTokens: 4000)],
        createdAt: Date(),
        updatedAt: Date()
    )

    private func step(_ documents: MemoryDocuments, _ log: MemoryExtractionLog, _ extractor: FakeExtractor) -> ExtractionStep {
        ExtractionStep(
            documents: documents,
            log: log,
            extractor: extractor,
            estimator: ReservationEstimator(defaultMaxTokens: 100, defaultContextTokens: 4000),
            maxAttempts: 3,
            logger: Logger(label: "extraction-step-tests")
        )
    }

    private func upload(_ text: String, attempts: Int = 0) async throws -> (ClaimedJob, MemoryDocuments) {
        var job = CallFixtures.job(JobWork(maxTokens: 100, upload: DocumentUpload(kind: .text, byteSize: text.utf8.count, fileName: nil)))
        job.attempts = attempts
        let documents = MemoryDocuments()
        try await documents.begin(job.claim.jobID, teamID: "team")
        for start in stride(from: 0, to: text.utf8.count, by: 4) {
            let bytes = Array(text.utf8)
            try await documents.append(job.claim.jobID, part: start / 4, bytes: Array(bytes[start..<min(bytes.count, start + 4)]))
        }
        return (job, documents)
    }

    @Test("the first delivery extracts, keeps the text with the reservation moved, and runs on the new reservation")
    func extractsOnce() async throws {
        let (job, documents) = try await upload("one\ntwo\nthree")
        let log = MemoryExtractionLog()
        let extractor = FakeExtractor()
        guard case .text(let text, let number) = await step(documents, log, extractor).text(for: job, group: group) else {
            Issue.record("expected the text")
            return
        }
        #expect(text.pages == ["one", "two", "three"] && text.showsPages)
        #expect(number == job.reservationNumber + 1)
        #expect(log.recorded.withLock { $0.count } == 1)
        #expect(log.recorded.withLock { $0.first?.calls } == 1, "three short pages fit one call")

        // A redelivery reads the kept text back: no second extraction, no second move.
        log.kept.withLock { $0 = StoredExtraction(text: ExtractedText(pages: text.pages), extractionMilliseconds: 1, createdAt: Date()) }
        guard case .text(let again, let sameNumber) = await step(documents, log, extractor).text(for: job, group: group) else {
            Issue.record("expected the kept text")
            return
        }
        #expect(again.pages == text.pages && sameNumber == job.reservationNumber)
        #expect(extractor.runs.withLock { $0 } == 1)
        #expect(log.recorded.withLock { $0.count } == 1)
    }

    @Test("a document's fault fails the job as invalid_request with the extractor's sentence")
    func documentFault() async throws {
        let (job, documents) = try await upload("x")
        let outcome = await step(documents, MemoryExtractionLog(), FakeExtractor(failure: .encrypted(.pdf))).text(for: job, group: group)
        guard case .settle(.failed(let code, let message)) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(code == .invalidRequest && message == ExtractionError.encrypted(.pdf).message)
    }

    @Test("the machine's fault is retried using an attempt, and fails the job at MAX_ATTEMPTS")
    func machineFault() async throws {
        let missing = FakeExtractor(failure: .extractorMissing("pdftotext"))
        let (first, documents) = try await upload("x")
        guard case .settle(.retry(_, let counts, _)) = await step(documents, MemoryExtractionLog(), missing).text(for: first, group: group) else {
            Issue.record("expected a retry")
            return
        }
        #expect(counts)
        let (last, more) = try await upload("x", attempts: 2)
        guard case .settle(.failed(let code, _)) = await step(more, MemoryExtractionLog(), missing).text(for: last, group: group) else {
            Issue.record("expected the last attempt to fail the job")
            return
        }
        #expect(code == .upstreamError)
    }

    @Test("a text that needs more credits than the balance has fails the job; a stored document gone fails it too")
    func refusals() async throws {
        let (job, documents) = try await upload("one\ntwo")
        let poor = MemoryExtractionLog(answer: .insufficientCredits(remaining: 3, needed: 40))
        guard case .settle(.failed(let code, let message)) = await step(documents, poor, FakeExtractor()).text(for: job, group: group) else {
            Issue.record("expected a failure")
            return
        }
        #expect(code == .invalidRequest && message == "Insufficient credits for the document's text: 3 remaining, 40 more needed")

        let gone = CallFixtures.job(JobWork(upload: DocumentUpload(kind: .pdf, byteSize: 10, fileName: nil)))
        guard case .settle(.failed(_, let why)) = await step(MemoryDocuments(), MemoryExtractionLog(), FakeExtractor()).text(for: gone, group: group)
        else {
            Issue.record("expected a failure")
            return
        }
        #expect(why == "The job's document is no longer stored")
    }
}
