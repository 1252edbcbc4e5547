import Crypto
import NIOCore
import Shared

/// The two fields of a multipart submit as their parts arrive, in either order: the `job` part
/// collected (it is small JSON), the `file` part counted, hashed and sniffed as it passes and
/// kept only until ``UploadReader`` hands it on in chunks.
struct UploadParts {
    enum Field: String {
        case job, file
    }

    /// The most bytes of a part name an error sentence repeats.
    static let maxNameBytesShown = 64

    let maxFileBytes: Int
    let maxJobBytes: Int

    private var current: Field?
    private var seen: Set<Field> = []
    private(set) var job = ByteBuffer()
    private(set) var fileName: String?
    private(set) var fileBytes = 0
    private var sniffer = DocumentSniffer()
    private var hasher = SHA256()
    /// File bytes not handed on yet.
    private var pending = ByteBuffer()

    init(maxFileBytes: Int, maxJobBytes: Int) {
        self.maxFileBytes = maxFileBytes
        self.maxJobBytes = maxJobBytes
    }

    /// A part begins: which field it is comes from its `Content-Disposition` name.
    mutating func begin(_ fields: [MultipartScanner.HeaderField]) throws(APIError) {
        let disposition = fields.first { $0.name == "content-disposition" }.map { ContentDisposition($0.value) }
        guard let name = disposition?.name, !name.isEmpty else { throw .partWithoutName }
        guard let field = Field(rawValue: name) else {
            throw .unknownPart(ContentDisposition.sanitised(name, maxBytes: Self.maxNameBytesShown) ?? "")
        }
        guard seen.insert(field).inserted else { throw .partTwice(field.rawValue) }
        current = field
        if field == .file { fileName = disposition?.fileName }
    }

    /// The current part's next bytes. A file no supported kind can come out of is refused at
    /// once (an image is known by its first bytes), before more of it is stored.
    mutating func append(_ bytes: ByteBuffer) throws(APIError) {
        switch current {
        case .job:
            guard job.readableBytes + bytes.readableBytes <= maxJobBytes else { throw .payloadTooLarge(limit: maxJobBytes) }
            job.writeImmutableBuffer(bytes)
        case .file:
            fileBytes += bytes.readableBytes
            guard fileBytes <= maxFileBytes else { throw .payloadTooLarge(limit: maxFileBytes) }
            bytes.withUnsafeReadableBytes { raw in
                sniffer.consume(raw)
                hasher.update(bufferPointer: raw)
            }
            pending.writeImmutableBuffer(bytes)
            guard !sniffer.isUnsupported else { throw .unsupportedDocumentType }
        case nil:
            break  // the scanner reports a part's headers before its body
        }
    }

    /// The current part ended; returns which it was.
    @discardableResult
    mutating func end() -> Field? {
        defer { current = nil }
        return current
    }

    /// Whether any of the file has been read yet.
    var fileStarted: Bool { seen.contains(.file) }

    /// File bytes waiting to be handed on.
    var pendingBytes: Int { pending.readableBytes }

    /// The next `size` pending bytes (or all of them when fewer). What stays pending moves to a
    /// buffer of its own, so the chunk's memory goes when its receiver lets go of it.
    mutating func takeChunk(_ size: Int) -> ByteBuffer {
        let chunk = pending.readSlice(length: min(size, pending.readableBytes))!
        var rest = ByteBuffer()
        rest.reserveCapacity(size)
        rest.writeBuffer(&pending)
        pending = rest
        return chunk
    }

    /// Both fields came and the file is one the service takes: what is known of it.
    func upload() throws(APIError) -> Upload {
        guard seen.contains(.file) else { throw .fieldRequired(Field.file.rawValue) }
        guard seen.contains(.job) else { throw .fieldRequired(Field.job.rawValue) }
        guard fileBytes > 0 else { throw .fileEmpty }
        guard let kind = sniffer.kind() else { throw .unsupportedDocumentType }
        return Upload(job: job, fileName: fileName, byteSize: fileBytes, sha256: Array(hasher.finalize()), kind: kind)
    }
}
