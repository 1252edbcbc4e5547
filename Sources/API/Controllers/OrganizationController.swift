import Foundation
import Hummingbird
import Shared

/// `/api/organizations…` (admin): create, read, list, their teams and usage.
struct OrganizationController {
    let organizations: any OrganizationStore
    let teams: any TeamStore
    let usage: any UsageStore

    struct CreateBody: Decodable {
        var organizationID: String
        var name: String
        var metadata: JSONObject?

        enum CodingKeys: String, CodingKey {
            case organizationID = "organization_id"
            case name, metadata
        }
    }

    struct OrganizationResponse: ResponseEncodable {
        var organizationID: String
        var name: String
        var metadata: JSONObject
        var createdAt: Date
        var updatedAt: Date

        enum CodingKeys: String, CodingKey {
            case organizationID = "organization_id"
            case name, metadata
            case createdAt = "created_at"
            case updatedAt = "updated_at"
        }

        init(_ o: Organization) {
            organizationID = o.organizationID
            name = o.name
            metadata = o.metadata
            createdAt = o.createdAt
            updatedAt = o.updatedAt
        }
    }

    struct ListResponse: ResponseEncodable {
        var organizations: [OrganizationResponse]
        var nextCursor: Nullable<String>

        enum CodingKeys: String, CodingKey {
            case organizations
            case nextCursor = "next_cursor"
        }
    }

    func addRoutes(to admin: RouteTable<AppRequestContext>) {
        admin.post("/organizations/create", use: create)
        admin.get("/organizations", use: list)
        admin.get("/organizations/{org_id}", use: get)
        admin.get("/organizations/{org_id}/teams", use: listTeams)
        admin.get("/organizations/{org_id}/usage", use: organizationUsage)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> OrganizationResponse {
        let body = try await request.decode(as: CreateBody.self, context: context)
        try Validate.identifier(body.organizationID, field: "organization_id")
        try Validate.name(body.name, field: "name")
        try Validate.metadata(body.metadata)
        return OrganizationResponse(
            try await organizations.create(organizationID: body.organizationID, name: body.name, metadata: body.metadata ?? [:])
        )
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> ListResponse {
        let query = try ListQuery(request)
        let page = try await organizations.list(limit: query.limit, after: query.position)
        return ListResponse(organizations: page.items.map(OrganizationResponse.init), nextCursor: Nullable(page.nextCursor))
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> OrganizationResponse {
        OrganizationResponse(try await organizations.get(try context.organizationID()))
    }

    @Sendable func listTeams(_ request: Request, context: AppRequestContext) async throws -> TeamController.ListResponse {
        let id = try context.organizationID()
        _ = try await organizations.get(id)
        let query = try ListQuery(request)
        let page = try await teams.list(organizationID: id, limit: query.limit, after: query.position)
        return TeamController.ListResponse(teams: page.items.map { TeamController.TeamResponse($0) }, nextCursor: Nullable(page.nextCursor))
    }

    @Sendable func organizationUsage(_ request: Request, context: AppRequestContext) async throws -> UsageReport {
        let id = try context.organizationID()
        _ = try await organizations.get(id)
        let period = try UsagePeriod(request)
        let rows = try await usage.usage(organizationID: id, teamID: nil, from: period.start, to: period.end)
        return UsageReport(organizationID: id, teamID: nil, period: period, teams: rows)
    }
}
