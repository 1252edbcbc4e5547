public import Foundation
public import Postgres

/// ``DocumentStore`` on PostgreSQL: `documents` (one row per upload) and `document_parts`
/// (its bytes in parts of at most 1 MiB, each written in its own short statement as it arrives,
/// so a slow upload holds no connection and no transaction).
public struct PostgresDocumentStore: DocumentStore {
    let postgres: PostgresClient
    public let partSize = 1 << 20

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    public func begin(_ id: UUID, teamID: String) async throws {
        try await postgres.query(
            "INSERT INTO documents (document_id, team_id, status) VALUES ($1, $2, 'uploading')",
            [.uuid(id), .text(teamID)]
        )
    }

    public func append(_ id: UUID, part number: Int, bytes: [UInt8]) async throws {
        // A part outside 1…partSize is refused by the table's CHECK.
        try await postgres.query(
            "INSERT INTO document_parts (document_id, part_number, bytes) VALUES ($1, $2, $3)",
            [.uuid(id), .int(number), .bytea(bytes)]
        )
    }

    public func finish(_ id: UUID, _ document: StoredDocument) async throws {
        try await postgres.query(
            """
            UPDATE documents SET status = 'stored', kind = $2, byte_size = $3, sha256 = $4, file_name = $5
            WHERE document_id = $1
            """,
            [
                .uuid(id), .text(document.kind.rawValue), .int(document.byteSize), .bytea(document.sha256),
                document.fileName.map(PostgresBind.text) ?? .null,
            ]
        )
    }

    public func attach(_ id: UUID) async throws {
        try await postgres.query(Self.attachStatement(id))
    }

    /// The statement of ``attach(_:)``. The status is tested inside `CASE` so that the document is
    /// found by its primary key: tested plainly, with statistics that saw no upload in flight, the
    /// planner read every unattached document (`documents_unattached`) to find it (see
    /// ``PostgresJobStore``, "Jobs found by id").
    static func attachStatement(_ id: UUID) -> PostgresStatement {
        PostgresStatement(
            "UPDATE documents SET status = 'attached' WHERE document_id = $1 AND CASE WHEN status = 'stored' THEN true ELSE false END",
            [.uuid(id)]
        )
    }

    public func document(_ id: UUID) async throws -> StoredDocument? {
        let rows = try await postgres.query(
            "SELECT kind, byte_size, sha256, file_name FROM documents WHERE document_id = $1 AND status <> 'uploading'",
            [.uuid(id)]
        )
        guard let row = rows.first else { return nil }
        guard let kind = DocumentKind(rawValue: try row.decode("kind")) else { return nil }
        return StoredDocument(
            kind: kind,
            byteSize: try row.decode("byte_size"),
            sha256: (try row.decode("sha256") as PostgresBytes).bytes,
            fileName: try row.decodeIfPresent("file_name")
        )
    }

    @discardableResult
    public func read(_ id: UUID, _ body: ([UInt8]) async throws -> Void) async throws -> Bool {
        // One part per statement: a reader holds one part (and its hex text) at a time.
        var number = 0
        while true {
            let rows = try await postgres.query(
                "SELECT bytes FROM document_parts WHERE document_id = $1 AND part_number = $2",
                [.uuid(id), .int(number)]
            )
            guard let row = rows.first else { return number > 0 }
            try await body((try row.decode("bytes") as PostgresBytes).bytes)
            number += 1
        }
    }

    public func delete(_ id: UUID) async throws {
        try await postgres.query("DELETE FROM documents WHERE document_id = $1", [.uuid(id)])
    }

    public func deleteAbandoned(olderThan age: Duration) async throws -> Int {
        let seconds = Int(age.components.seconds)
        let rows = try await postgres.query(
            """
            DELETE FROM documents d
            WHERE d.status <> 'attached' AND d.created_at < now() - make_interval(secs => $1)
              AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.job_id = d.document_id)
            """,
            [.int(seconds)]
        )
        return rows.affectedRows
    }
}
