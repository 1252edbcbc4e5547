import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import Shared

/// `POST /api/jobs/create` with `multipart/form-data`: a `file` part (the document) and a `job`
/// part (the submit's JSON fields). The file streams into the ``DocumentStore`` part by part as
/// it arrives — the API holds one part at a time, never the file — under the id the job will
/// have; then the job part is checked like any submit and the job submitted with its upload.
/// Whatever refuses the submit before it is written erases the stored bytes; a submit whose
/// outcome is unknown keeps them (its job may exist), and the sweeper erases them after an hour
/// if it does not.
struct UploadSubmission {
    let documents: any DocumentStore
    let maxFileBytes: Int

    /// Whether a request is a multipart submit.
    static func isMultipart(_ request: Request) -> Bool {
        UploadReader.isMultipartFormData(request.headers[.contentType])
    }

    /// Reads and stores the upload; returns it with the job id its bytes are stored under.
    /// `checkJob` refuses a bad `job` part that arrives before the file, before any of the file
    /// is stored (the whole submit is checked again once the upload is read).
    func receive(
        _ request: Request,
        teamID: String,
        checkJob: (ByteBuffer) async throws -> Void
    ) async throws -> (jobID: UUID, upload: Upload) {
        let jobID = UUID.random()
        let writer = PartWriter(documents: documents, jobID: jobID, teamID: teamID)
        do {
            let upload = try await UploadReader(maxFileBytes: maxFileBytes).read(
                contentType: request.headers[.contentType],
                body: request.body,
                onJob: checkJob
            ) { chunk in
                try await writer.write(chunk)
            }
            try await documents.finish(jobID, upload.storedDocument)
            return (jobID, upload)
        } catch {
            await writer.discard()
            throw error
        }
    }

    /// Marks the upload as its job's document (the job was written): the sweeper looks at it no more.
    func attach(_ jobID: UUID, logger: Logger) async {
        do {
            try await documents.attach(jobID)
        } catch {
            logger.warning("could not mark an upload attached", metadata: ["job_id": "\(jobID)", "error": "\(error)"])
        }
    }

    /// Erases an upload that will not become its job's document.
    func discard(_ jobID: UUID) async {
        try? await documents.delete(jobID)
    }
}

/// Writes an upload's chunks as numbered parts, beginning the document at the first.
private actor PartWriter {
    let documents: any DocumentStore
    let jobID: UUID
    let teamID: String
    private var next = 0

    init(documents: any DocumentStore, jobID: UUID, teamID: String) {
        self.documents = documents
        self.jobID = jobID
        self.teamID = teamID
    }

    func write(_ chunk: ByteBuffer) async throws {
        guard chunk.readableBytes > 0 else { return }
        if next == 0 { try await documents.begin(jobID, teamID: teamID) }
        try await documents.append(jobID, part: next, bytes: Array(buffer: chunk))
        next += 1
    }

    func discard() async {
        guard next > 0 else { return }
        try? await documents.delete(jobID)
    }
}
