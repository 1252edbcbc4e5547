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
    let limits: any TeamLimitsStore
    /// Told of every limits change made here, so this process's next submit sees it at once.
    let limitsCache: TeamLimitsCache

    struct CreateBody: Decodable {
        var organizationID: String
        var teamID: String
        var teamAlias: String?
        var modelGroups: [String]
        var creditsAllocated: Int
        var budgetMode: String?
        var tokensPerCredit: Int?
        var creditsPerDollar: Decimal?
        var metadata: JSONObject?

        enum CodingKeys: String, CodingKey {
            case organizationID = "organization_id"
            case teamID = "team_id"
            case teamAlias = "team_alias"
            case modelGroups = "model_groups"
            case creditsAllocated = "credits_allocated"
            case budgetMode = "budget_mode"
            case tokensPerCredit = "tokens_per_credit"
            case creditsPerDollar = "credits_per_dollar"
            case metadata
        }
    }

    struct ModelGroupsBody: Decodable {
        var modelGroups: [String]

        enum CodingKeys: String, CodingKey {
            case modelGroups = "model_groups"
        }
    }

    struct RotateBody: OptionalRequestBody {
        static let empty = RotateBody()
        var graceSeconds: Int?

        enum CodingKeys: String, CodingKey {
            case graceSeconds = "grace_seconds"
        }
    }

    struct TeamResponse: ResponseEncodable {
        var teamID: String
        var organizationID: String
        var teamAlias: String?
        var status: String
        var modelGroups: [String]
        var creditsAllocated: Int
        var creditsUsed: Int
        var creditsReserved: Int
        var creditsRemaining: Int
        var budgetMode: String
        var tokensPerCredit: Int
        var creditsPerDollar: Decimal
        var keyPrefix: String?
        var metadata: JSONObject
        var createdAt: Date
        var updatedAt: Date
        var limits: TeamLimitsObject
        /// Only in the answers of create and rotate-key: the one time the key is shown.
        var virtualKey: String?

        enum CodingKeys: String, CodingKey {
            case teamID = "team_id"
            case organizationID = "organization_id"
            case teamAlias = "team_alias"
            case status
            case modelGroups = "model_groups"
            case creditsAllocated = "credits_allocated"
            case creditsUsed = "credits_used"
            case creditsReserved = "credits_reserved"
            case creditsRemaining = "credits_remaining"
            case budgetMode = "budget_mode"
            case tokensPerCredit = "tokens_per_credit"
            case creditsPerDollar = "credits_per_dollar"
            case keyPrefix = "key_prefix"
            case metadata
            case createdAt = "created_at"
            case updatedAt = "updated_at"
            case limits
            case virtualKey = "virtual_key"
        }

        init(_ team: Team, key: String? = nil) {
            teamID = team.teamID
            organizationID = team.organizationID
            teamAlias = team.teamAlias
            status = team.status.rawValue
            modelGroups = team.modelGroups
            creditsAllocated = team.balance.allocated
            creditsUsed = team.balance.used
            creditsReserved = team.balance.reserved
            creditsRemaining = team.balance.remaining
            budgetMode = team.billing.budgetMode.rawValue
            tokensPerCredit = team.billing.tokensPerCredit
            creditsPerDollar = team.billing.creditsPerDollar
            keyPrefix = team.keyPrefix
            metadata = team.metadata
            createdAt = team.createdAt
            updatedAt = team.updatedAt
            limits = TeamLimitsObject(limits: team.limits)
            virtualKey = key
        }
    }

    struct ListResponse: ResponseEncodable {
        var teams: [TeamResponse]
        var nextCursor: Nullable<String>

        enum CodingKeys: String, CodingKey {
            case teams
            case nextCursor = "next_cursor"
        }
    }

    struct RotateResponse: ResponseEncodable {
        var teamID: String
        var virtualKey: String
        var keyPrefix: String
        var previousKeyExpiresAt: Date?

        enum CodingKeys: String, CodingKey {
            case teamID = "team_id"
            case virtualKey = "virtual_key"
            case keyPrefix = "key_prefix"
            case previousKeyExpiresAt = "previous_key_expires_at"
        }
    }

    struct MeResponse: ResponseEncodable {
        struct Group: Codable {
            var groupName: String
            var models: [String]

            enum CodingKeys: String, CodingKey {
                case groupName = "group_name"
                case models
            }
        }

        var teamID: String
        var organizationID: String
        var teamAlias: String?
        var status: String
        var modelGroups: [Group]
        var creditsAllocated: Int
        var creditsUsed: Int
        var creditsReserved: Int
        var creditsRemaining: Int
        var budgetMode: String
        var keyPrefix: String?

        enum CodingKeys: String, CodingKey {
            case teamID = "team_id"
            case organizationID = "organization_id"
            case teamAlias = "team_alias"
            case status
            case modelGroups = "model_groups"
            case creditsAllocated = "credits_allocated"
            case creditsUsed = "credits_used"
            case creditsReserved = "credits_reserved"
            case creditsRemaining = "credits_remaining"
            case budgetMode = "budget_mode"
            case keyPrefix = "key_prefix"
        }
    }

    func addRoutes(admin: RouteTable<AppRequestContext>, team: RouteTable<AppRequestContext>, teamOrAdmin: RouteTable<AppRequestContext>) {
        admin.post("/teams/create", use: create)
        admin.get("/teams", use: list)
        admin.get("/teams/{team_id}", use: get)
        admin.put("/teams/{team_id}/model-groups", use: setModelGroups)
        admin.put("/teams/{team_id}/suspend") { _, context in try await setStatus(context, .suspended) }
        admin.put("/teams/{team_id}/resume") { _, context in try await setStatus(context, .active) }
        admin.post("/teams/{team_id}/rotate-key", use: rotateKey)
        admin.put("/teams/{team_id}/limits", use: setLimits)
        team.get("/me", use: me)
        teamOrAdmin.get("/teams/{team_id}/usage", use: teamUsage)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> TeamResponse {
        let body = try await request.decode(as: CreateBody.self, context: context)
        try Validate.identifier(body.organizationID, field: "organization_id")
        try Validate.identifier(body.teamID, field: "team_id")
        try Validate.optionalName(body.teamAlias, field: "team_alias")
        try Validate.metadata(body.metadata)
        guard (0...CreditLimits.maximumChange).contains(body.creditsAllocated) else {
            throw APIError.creditsAllocatedOutOfRange
        }
        for (index, group) in body.modelGroups.enumerated() {
            try Validate.identifier(group, field: "model_groups[\(index)]")
        }
        let billing = try Self.billing(
            mode: body.budgetMode,
            tokensPerCredit: body.tokensPerCredit,
            creditsPerDollar: body.creditsPerDollar,
            base: BillingSettings()
        )
        let draft = TeamDraft(
            teamID: body.teamID,
            organizationID: body.organizationID,
            teamAlias: body.teamAlias,
            modelGroups: body.modelGroups.uniqued(),
            creditsAllocated: body.creditsAllocated,
            billing: billing,
            metadata: body.metadata ?? [:]
        )
        let (team, key) = try await teams.create(draft)
        keyCache.forget(VirtualKey.hash(key.key))
        return TeamResponse(team, key: key.key)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> ListResponse {
        let query = try ListQuery(request)
        let organization = request.uri.queryParameters["organization_id"].map(String.init)
        let page = try await teams.list(organizationID: organization, limit: query.limit, after: query.position)
        return ListResponse(teams: page.items.map { TeamResponse($0) }, nextCursor: Nullable(page.nextCursor))
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> TeamResponse {
        TeamResponse(try await teams.get(try context.teamID()))
    }

    @Sendable func setModelGroups(_ request: Request, context: AppRequestContext) async throws -> TeamResponse {
        let id = try context.teamID()
        let body = try await request.decode(as: ModelGroupsBody.self, context: context)
        for (index, group) in body.modelGroups.enumerated() {
            try Validate.identifier(group, field: "model_groups[\(index)]")
        }
        return TeamResponse(try await teams.setModelGroups(id, body.modelGroups.uniqued()))
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
        let grace = body.graceSeconds ?? 0
        try Validate.range(grace, 0...86_400, field: "grace_seconds")
        let (key, previousExpiry) = try await teams.rotateKey(id, graceSeconds: grace)
        keyCache.forget(VirtualKey.hash(key.key))
        return RotateResponse(teamID: id, virtualKey: key.key, keyPrefix: key.prefix, previousKeyExpiresAt: previousExpiry)
    }

    /// Changes the team's limits in one transaction, then gives the queue the team's cap as
    /// PostgreSQL now holds it — every time, so a PUT also repairs a cap Redis missed (a PUT whose
    /// queue step failed answers an error and is safe to repeat).
    @Sendable func setLimits(_ request: Request, context: AppRequestContext) async throws -> TeamLimitsResponse {
        let id = try context.teamID()
        let change = try await request.decode(as: TeamLimitsBody.self, context: context).validated()
        let updated = try await limits.setLimits(id, change)
        limitsCache.forget(id)
        try await queue.setConcurrencyCap(teamID: id, cap: updated.maxConcurrentJobs)
        return TeamLimitsResponse(teamID: id, limits: updated)
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> MeResponse {
        let identity = try context.requireTeam()
        let team = try await teams.get(identity.teamID)
        var groups: [MeResponse.Group] = []
        for name in team.modelGroups {
            let group = try? await modelGroups.get(name)
            groups.append(MeResponse.Group(groupName: name, models: group?.models.map(\.modelName) ?? []))
        }
        return MeResponse(
            teamID: team.teamID,
            organizationID: team.organizationID,
            teamAlias: team.teamAlias,
            status: team.status.rawValue,
            modelGroups: groups,
            creditsAllocated: team.balance.allocated,
            creditsUsed: team.balance.used,
            creditsReserved: team.balance.reserved,
            creditsRemaining: team.balance.remaining,
            budgetMode: team.billing.budgetMode.rawValue,
            keyPrefix: team.keyPrefix
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
