public import Foundation

/// What is known of a stored upload.
public struct StoredDocument: Sendable, Hashable {
    public var kind: DocumentKind
    public var byteSize: Int
    public var sha256: [UInt8]
    public var fileName: String?

    public init(kind: DocumentKind, byteSize: Int, sha256: [UInt8], fileName: String?) {
        self.kind = kind
        self.byteSize = byteSize
        self.sha256 = sha256
        self.fileName = fileName
    }
}

/// Where uploaded documents' bytes live, under the id of the job they belong to. The API writes
/// an upload part by part as it streams in (never holding the file), workers read it back part
/// by part to extract its text. PostgreSQL today (``PostgresDocumentStore``); the protocol is
/// all the rest of the service knows, so an object store can take its place.
public protocol DocumentStore: Sendable {
    /// The most bytes one part may hold.
    var partSize: Int { get }
    /// Starts an upload under `id` (the id its job will have).
    func begin(_ id: UUID, teamID: String) async throws
    /// Appends part `number` (from 0, in order, 1…``partSize`` bytes).
    func append(_ id: UUID, part number: Int, bytes: [UInt8]) async throws
    /// Marks the upload whole: from now on it is the job's document.
    func finish(_ id: UUID, _ document: StoredDocument) async throws
    /// Marks the upload as its job's: the job was written. Best effort — an upload whose mark
    /// was lost is only looked at again by ``deleteAbandoned(olderThan:)``, which keeps it.
    func attach(_ id: UUID) async throws
    /// The stored (whole) document, nil when unknown, unfinished or erased.
    func document(_ id: UUID) async throws -> StoredDocument?
    /// Hands the bytes to `body` part by part, in order; false when there are none.
    @discardableResult
    func read(_ id: UUID, _ body: ([UInt8]) async throws -> Void) async throws -> Bool
    /// Erases the bytes: a refused submit, `DELETE /api/jobs/{id}`, retention.
    func delete(_ id: UUID) async throws
    /// Erases uploads that never became a job's and are older than `age` (their process died
    /// between the upload and the submit); returns how many.
    func deleteAbandoned(olderThan age: Duration) async throws -> Int
}
