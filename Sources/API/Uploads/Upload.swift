import NIOCore
import Shared

/// A multipart submit once read (``UploadReader``): the `job` part's JSON, still undecoded, and
/// what is known of the `file` part, whose bytes went to the reader's caller as they came.
struct Upload: Sendable, Equatable {
    /// The `job` part: the submit's JSON fields (no `document`), for the strict decoder.
    var job: ByteBuffer
    /// The name the client gave the file, made safe to show (``ContentDisposition``).
    var fileName: String?
    var byteSize: Int
    /// SHA-256 of the file's bytes.
    var sha256: [UInt8]
    /// Decided from the bytes (``DocumentSniffer``), never from the name.
    var kind: DocumentKind

    init(job: ByteBuffer, fileName: String?, byteSize: Int, sha256: [UInt8], kind: DocumentKind) {
        self.job = job
        self.fileName = fileName
        self.byteSize = byteSize
        self.sha256 = sha256
        self.kind = kind
    }

    /// What the ``DocumentStore`` records of the file when the upload is finished.
    var storedDocument: StoredDocument {
        StoredDocument(kind: kind, byteSize: byteSize, sha256: sha256, fileName: fileName)
    }
}
