import Foundation
public import Postgres

/// Organizations: the tenants' owners.
public protocol OrganizationStore: Sendable {
    func create(organizationID: String, name: String, metadata: JSONObject) async throws -> Organization
    func get(_ organizationID: String) async throws -> Organization
    func list(limit: Int, after cursor: String?) async throws -> Page<Organization>
}

public struct PostgresOrganizationStore: OrganizationStore {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    private static let columns = "organization_id, name, metadata, created_at, updated_at"

    public func create(organizationID: String, name: String, metadata: JSONObject) async throws -> Organization {
        do {
            let rows = try await postgres.query(
                "INSERT INTO organizations (organization_id, name, metadata) VALUES ($1, $2, $3) RETURNING \(Self.columns)",
                [.text(organizationID), .text(name), .json(metadata.jsonText())]
            )
            return try Self.decode(rows.first!)
        } catch let error as PostgresError where error.sqlState == PostgresError.Code.uniqueViolation {
            throw DomainError.organizationExists(organizationID)
        }
    }

    public func get(_ organizationID: String) async throws -> Organization {
        let rows = try await postgres.query("SELECT \(Self.columns) FROM organizations WHERE organization_id = $1", [.text(organizationID)])
        guard let row = rows.first else { throw DomainError.organizationNotFound(organizationID) }
        return try Self.decode(row)
    }

    public func list(limit: Int, after cursor: String?) async throws -> Page<Organization> {
        let rows = try await postgres.query(
            """
            SELECT \(Self.columns) FROM organizations
            WHERE $1::text IS NULL OR organization_id > $1
            ORDER BY organization_id LIMIT $2
            """,
            [PostgresBind(cursor), .int(limit + 1)]
        )
        var organizations = try rows.map(Self.decode)
        var next: String?
        if organizations.count > limit {
            organizations.removeLast()
            next = organizations.last.map { Cursor.encode($0.organizationID) }
        }
        return Page(items: organizations, nextCursor: next)
    }

    static func decode(_ row: PostgresRow) throws -> Organization {
        Organization(
            organizationID: try row.decode("organization_id"),
            name: try row.decode("name"),
            metadata: .fromJSON(try row.decodeIfPresent("metadata")),
            createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at")
        )
    }
}
