import Foundation
import Hummingbird
import Shared

/// `/api/teams…` (admin): teams, their keys, model groups and status; and the team-side
/// `/api/me` and `/api/teams/{team_id}/usage`.
struct TeamController {
    let teams: any TeamStore
    let usage: any UsageStore
    let modelGroups: any ModelGroupStore
    let queue: any JobQueue
    /// Told of every key minted here, so that none is ever answered from a cached "unknown".
    let keyCache: KeyCache

    struct CreateBody: Decodable {
        var organization_id: String
        var team_id: String
        var team_alias: String?
        var model_groups: [String]
        var credits_allocated: Int
        var budget_mode: String?
        var tokens_per_credit: Int?
        var credits_per_dollar: Decimal?
        var metadata: JSONObject?
    }

    struct ModelGroupsBody: Decodable {
        var model_groups: [String]
    }

    struct RotateBody: OptionalRequestBody {
        static let empty = RotateBody()
        var grace_seconds: Int?
    }

    struct TeamResponse: ResponseEncodable {
        var team_id: String
        var organization_id: String
        var team_alias: String?
        var status: String
        var model_groups: [String]
        var credits_allocated: Int
        var credits_used: Int
        var credits_reserved: Int
        var credits_remaining: Int
        var budget_mode: String
        var tokens_per_credit: Int
        var credits_per_dollar: Decimal
        var key_prefix: String?
        var metadata: JSONObject
        var created_at: Date
        var updated_at: Date
        /// Only in the answers of create and rotate-key: the one time the key is shown.
        var virtual_key: String?

        init(_ team: Team, key: String? = nil) {
            team_id = team.teamID
            organization_id = team.organizationID
            team_alias = team.teamAlias
            status = team.status.rawValue
            model_groups = team.modelGroups
            credits_allocated = team.balance.allocated
            credits_used = team.balance.used
            credits_reserved = team.balance.reserved
            credits_remaining = team.balance.remaining
            budget_mode = team.billing.budgetMode.rawValue
            tokens_per_credit = team.billing.tokensPerCredit
            credits_per_dollar = team.billing.creditsPerDollar
            key_prefix = team.keyPrefix
            metadata = team.metadata
            created_at = team.createdAt
            updated_at = team.updatedAt
            virtual_key = key
        }
    }

    struct ListResponse: ResponseEncodable {
        var teams: [TeamResponse]
        var next_cursor: Nullable<String>
    }

    struct RotateResponse: ResponseEncodable {
        var team_id: String
        var virtual_key: String
        var key_prefix: String
        var previous_key_expires_at: Date?
    }

    struct MeResponse: ResponseEncodable {
        struct Group: Codable {
            var group_name: String
            var models: [String]
        }

        var team_id: String
        var organization_id: String
        var team_alias: String?
        var status: String
        var model_groups: [Group]
        var credits_allocated: Int
        var credits_used: Int
        var credits_reserved: Int
        var credits_remaining: Int
        var budget_mode: String
        var key_prefix: String?
    }

    func addRoutes(admin: RouteTable<AppRequestContext>, team: RouteTable<AppRequestContext>, teamOrAdmin: RouteTable<AppRequestContext>) {
        admin.post("/teams/create", use: create)
        admin.get("/teams", use: list)
        admin.get("/teams/{team_id}", use: get)
        admin.put("/teams/{team_id}/model-groups", use: setModelGroups)
        admin.put("/teams/{team_id}/suspend") { _, context in try await setStatus(context, .suspended) }
        admin.put("/teams/{team_id}/resume") { _, context in try await setStatus(context, .active) }
        admin.post("/teams/{team_id}/rotate-key", use: rotateKey)
        team.get("/me", use: me)
        teamOrAdmin.get("/teams/{team_id}/usage", use: teamUsage)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> TeamResponse {
        let body = try await request.decode(as: CreateBody.self, context: context)
        try Validate.identifier(body.organization_id, field: "organization_id")
        try Validate.identifier(body.team_id, field: "team_id")
        try Validate.optionalName(body.team_alias, field: "team_alias")
        try Validate.metadata(body.metadata)
        guard (0...CreditLimits.maximumChange).contains(body.credits_allocated) else {
            throw APIError.creditsAllocatedOutOfRange
        }
        for (index, group) in body.model_groups.enumerated() {
            try Validate.identifier(group, field: "model_groups[\(index)]")
        }
        let billing = try Self.billing(mode: body.budget_mode, tokensPerCredit: body.tokens_per_credit, creditsPerDollar: body.credits_per_dollar, base: BillingSettings())
        let draft = TeamDraft(
            teamID: body.team_id, organizationID: body.organization_id, teamAlias: body.team_alias,
            modelGroups: body.model_groups.uniqued(),
            creditsAllocated: body.credits_allocated, billing: billing, metadata: body.metadata ?? [:]
        )
        let (team, key) = try await teams.create(draft)
        keyCache.forget(VirtualKey.hash(key.key))
        return TeamResponse(team, key: key.key)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> ListResponse {
        let query = try ListQuery(request)
        let organization = request.uri.queryParameters["organization_id"].map(String.init)
        let page = try await teams.list(organizationID: organization, limit: query.limit, after: query.position)
        return ListResponse(teams: page.items.map { TeamResponse($0) }, next_cursor: Nullable(page.nextCursor))
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> TeamResponse {
        TeamResponse(try await teams.get(try context.teamID()))
    }

    @Sendable func setModelGroups(_ request: Request, context: AppRequestContext) async throws -> TeamResponse {
        let id = try context.teamID()
        let body = try await request.decode(as: ModelGroupsBody.self, context: context)
        for (index, group) in body.model_groups.enumerated() {
            try Validate.identifier(group, field: "model_groups[\(index)]")
        }
        return TeamResponse(try await teams.setModelGroups(id, body.model_groups.uniqued()))
    }

    /// Suspends or resumes in PostgreSQL (authentication reads it), then parks or releases the
    /// team's queued jobs in the queue; workers also refuse a suspended team's jobs when marking.
    func setStatus(_ context: AppRequestContext, _ status: TeamStatus) async throws -> TeamResponse {
        let team = try await teams.setStatus(try context.teamID(), status)
        if status == .suspended {
            try await queue.suspend(teamID: team.teamID)
        } else {
            try await queue.resume(teamID: team.teamID)
        }
        return TeamResponse(team)
    }

    @Sendable func rotateKey(_ request: Request, context: AppRequestContext) async throws -> RotateResponse {
        let id = try context.teamID()
        // The body is optional: no body means no grace period.
        let body = try await request.decode(as: RotateBody.self, context: context)
        let grace = body.grace_seconds ?? 0
        try Validate.range(grace, 0...86_400, field: "grace_seconds")
        let (key, previousExpiry) = try await teams.rotateKey(id, graceSeconds: grace)
        keyCache.forget(VirtualKey.hash(key.key))
        return RotateResponse(team_id: id, virtual_key: key.key, key_prefix: key.prefix, previous_key_expires_at: previousExpiry)
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> MeResponse {
        let identity = try context.requireTeam()
        let team = try await teams.get(identity.teamID)
        var groups: [MeResponse.Group] = []
        for name in team.modelGroups {
            let group = try? await modelGroups.get(name)
            groups.append(MeResponse.Group(group_name: name, models: group?.models.map(\.modelName) ?? []))
        }
        return MeResponse(
            team_id: team.teamID, organization_id: team.organizationID, team_alias: team.teamAlias, status: team.status.rawValue,
            model_groups: groups, credits_allocated: team.balance.allocated, credits_used: team.balance.used,
            credits_reserved: team.balance.reserved, credits_remaining: team.balance.remaining,
            budget_mode: team.billing.budgetMode.rawValue, key_prefix: team.keyPrefix
        )
    }

    @Sendable func teamUsage(_ request: Request, context: AppRequestContext) async throws -> UsageReport {
        let id = try context.teamID()
        try context.requireOwnTeam(id, for: .usage)
        let period = try UsagePeriod(request)
        let team = try await teams.get(id)
        let rows = try await usage.usage(organizationID: nil, teamID: id, from: period.start, to: period.end)
        return UsageReport(organizationID: team.organizationID, teamID: id, period: period, teams: rows)
    }

    // MARK: - Shared rules

    static func billing(mode: String?, tokensPerCredit: Int?, creditsPerDollar: Decimal?, base: BillingSettings) throws(APIError) -> BillingSettings {
        var billing = base
        if let mode {
            guard let parsed = BudgetMode(rawValue: mode) else {
                throw .budgetModeUnknown
            }
            billing.budgetMode = parsed
        }
        if let tokensPerCredit {
            guard tokensPerCredit > 0 && tokensPerCredit <= 1_000_000_000 else {
                throw .tokensPerCreditOutOfRange
            }
            billing.tokensPerCredit = tokensPerCredit
        }
        if let creditsPerDollar {
            // The column keeps six decimal places: anything smaller would be stored as 0.
            guard creditsPerDollar >= Decimal(sign: .plus, exponent: -6, significand: 1) && creditsPerDollar <= 1_000_000 else {
                throw .creditsPerDollarOutOfRange
            }
            billing.creditsPerDollar = creditsPerDollar
        }
        return billing
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each once.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
