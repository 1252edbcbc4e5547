/// What a job knows of its uploaded file: enough to reserve credits and extract its text. The
/// bytes themselves are in the ``DocumentStore`` under the job's id.
public struct DocumentUpload: Sendable, Hashable, Codable {
    public var kind: DocumentKind
    public var byteSize: Int
    /// The name the client gave the file (shown back, never used to decide anything).
    public var fileName: String?

    enum CodingKeys: String, CodingKey {
        case kind
        case byteSize = "byte_size"
        case fileName = "file_name"
    }

    public init(kind: DocumentKind, byteSize: Int, fileName: String?) {
        self.kind = kind
        self.byteSize = byteSize
        self.fileName = fileName
    }
}
