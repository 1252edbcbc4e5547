import NIOCore

/// Reads a `multipart/form-data` submit as it streams in (issue 14): the `job` part (the submit's
/// JSON, at most ``maxJobBytes``) is collected and returned undecoded, the `file` part is handed
/// to the caller in chunks of ``chunkSize`` as it arrives — each awaited before more is read, so
/// the client is held back by the store and the API holds one chunk and one read, never the
/// file. On the way the file is counted (413 past ``maxFileBytes``), hashed and its kind sniffed
/// from its bytes (415 for anything else). On any throw, the caller erases what it stored.
struct UploadReader: Sendable {
    static let defaultChunkSize = 1 << 20
    /// The `job` part's limit: the JSON route's fields without a document.
    static let maxJobBytes = 1 << 20
    /// RFC 2046's longest boundary.
    static let maxBoundaryBytes = 70

    var maxFileBytes: Int
    var chunkSize: Int

    init(maxFileBytes: Int, chunkSize: Int = Self.defaultChunkSize) {
        self.maxFileBytes = maxFileBytes
        self.chunkSize = max(1, chunkSize)
    }

    /// Whether a request's `Content-Type` asks for this reader (else the body is JSON).
    static func isMultipartFormData(_ contentType: String?) -> Bool {
        contentType.map { HeaderParameters($0).value == "multipart/form-data" } ?? false
    }

    /// The boundary of a `multipart/form-data` type: 1–70 printable ASCII characters (RFC 2046
    /// allows fewer; nothing more is needed to find it safely), not ending in a space.
    static func boundary(of contentType: String?) throws(APIError) -> String {
        guard let contentType else { throw .multipartContentTypeInvalid }
        let parsed = HeaderParameters(contentType)
        guard parsed.value == "multipart/form-data", let boundary = parsed["boundary"],
            (1...maxBoundaryBytes).contains(boundary.utf8.count), boundary.utf8.allSatisfy({ (0x20...0x7E).contains($0) }),
            boundary.last != " "
        else { throw .multipartContentTypeInvalid }
        return boundary
    }

    /// Reads the whole body: returns the `job` JSON and what is known of the file, whose bytes
    /// went to `onChunk` (every chunk but the last exactly ``chunkSize`` bytes; the last is
    /// handed on only once the upload is known to be acceptable).
    ///
    /// Errors: 400 for a `Content-Type` without a usable boundary, a body that is not multipart,
    /// a part's headers past 16 KiB or a body ending inside a part; 413 past ``maxFileBytes``
    /// or ``maxJobBytes``; 415 for a file of another type; 422 for a part without a name, with an
    /// unknown name or sent twice, a missing field and an empty file. `onChunk`'s and `body`'s
    /// own errors go through as they are.
    ///
    /// `onJob` is given the `job` part as soon as it ends when it comes before the file, so the
    /// caller can refuse a bad submit before a byte of the file is stored; its error ends the read.
    func read<Body: AsyncSequence>(
        contentType: String?,
        body: Body,
        onJob: (ByteBuffer) async throws -> Void = { _ in },
        onChunk: (ByteBuffer) async throws -> Void
    ) async throws -> Upload where Body.Element == ByteBuffer {
        var scanner = MultipartScanner(boundary: try Self.boundary(of: contentType))
        var parts = UploadParts(maxFileBytes: maxFileBytes, maxJobBytes: Self.maxJobBytes)
        reading: for try await var input in body {
            while let event = try scanner.next(&input) {
                switch event {
                case .part(let fields):
                    try parts.begin(fields)
                case .body(let bytes):
                    try parts.append(bytes)
                    while parts.pendingBytes >= chunkSize {
                        try await onChunk(parts.takeChunk(chunkSize))
                    }
                case .partEnd:
                    if parts.end() == .job, !parts.fileStarted { try await onJob(parts.job) }
                case .close:
                    break reading  // the epilogue is not read; the server drains it
                }
            }
        }
        try scanner.finish()
        let upload = try parts.upload()
        if parts.pendingBytes > 0 { try await onChunk(parts.takeChunk(chunkSize)) }
        return upload
    }
}
