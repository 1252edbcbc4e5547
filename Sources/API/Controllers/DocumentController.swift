import Foundation
import Hummingbird
import Shared

/// A job's uploaded document as its team reads it back: what was stored and the text the worker
/// extracted, page by page — what the result's `sources` point into.
struct DocumentController {
    let jobs: any JobStore
    let contents: any JobContentStore
    let documents: any DocumentStore

    struct DocumentResponse: ResponseEncodable {
        struct Page: Encodable {
            var page: Int
            var text: String
        }

        var jobID: String
        var kind: String
        var mediaType: String
        var fileName: String?
        var byteSize: Int
        var sha256: String
        var pageCount: Int
        var extractionMilliseconds: Int
        var extractedAt: Date
        var pages: [Page]

        enum CodingKeys: String, CodingKey {
            case jobID = "job_id"
            case kind
            case mediaType = "media_type"
            case fileName = "file_name"
            case byteSize = "byte_size"
            case sha256
            case pageCount = "page_count"
            case extractionMilliseconds = "extraction_ms"
            case extractedAt = "extracted_at"
            case pages
        }
    }

    func addRoutes(team: RouteTable<AppRequestContext>) {
        team.get("/jobs/{job_id}/document", use: document)
    }

    @Sendable func document(_ request: Request, context: AppRequestContext) async throws -> DocumentResponse {
        let jobID = try context.jobID()
        let job = try await JobController.ownedJob(jobID, jobs, context)
        if job.contentErasedAt != nil { throw APIError.documentErased }
        guard let stored = try await documents.document(jobID) else { throw APIError.jobHasNoDocument }
        guard let extraction = try await contents.extractedText(jobID) else {
            throw job.status.isTerminal ? APIError.documentNotExtractable : APIError.documentNotExtracted
        }
        return DocumentResponse(
            jobID: jobID.lowercasedString,
            kind: stored.kind.rawValue,
            mediaType: stored.kind.mediaType,
            fileName: stored.fileName,
            byteSize: stored.byteSize,
            sha256: stored.sha256.map { String(format: "%02x", $0) }.joined(),
            pageCount: extraction.text.pages.count,
            extractionMilliseconds: extraction.extractionMilliseconds,
            extractedAt: extraction.createdAt,
            pages: extraction.text.pages.enumerated().map { DocumentResponse.Page(page: $0.offset + 1, text: $0.element) }
        )
    }
}
