import Foundation
import Hummingbird
import Shared

/// `/api/teams/{team_id}/webhook…`: a team's one webhook endpoint and its delivery log, for the
/// team's own key and for admins. The endpoint's secret is minted here, shown once in the PUT's
/// answer and stored sealed (the senders need it back to sign).
struct WebhookController {
    let webhooks: any WebhookStore
    let teams: any TeamStore
    let secrets: SecretBox
    /// The SSRF rules for the URL; production's resolve the host (see ``WebhookTargetPolicy``).
    let policy: WebhookTargetPolicy

    struct PutBody: Decodable {
        var url: String
        var events: [String]
    }

    struct EndpointResponse: ResponseEncodable {
        var teamID: String
        var url: String
        var events: [String]
        /// Only in the PUT's answer.
        var secret: String?
        var createdAt: Date
        var updatedAt: Date

        enum CodingKeys: String, CodingKey {
            case teamID = "team_id"
            case url, events, secret
            case createdAt = "created_at"
            case updatedAt = "updated_at"
        }

        init(_ endpoint: WebhookEndpoint, secret: String? = nil) {
            teamID = endpoint.teamID
            url = endpoint.url
            events = endpoint.events.map(\.rawValue)
            self.secret = secret
            createdAt = endpoint.createdAt
            updatedAt = endpoint.updatedAt
        }
    }

    struct DeletedResponse: ResponseEncodable {
        var teamID: String
        var deleted: Bool

        enum CodingKeys: String, CodingKey {
            case teamID = "team_id"
            case deleted
        }
    }

    struct DeliveryResponse: Encodable {
        var deliveryID: String
        var event: String
        var jobID: Nullable<String>
        var status: String
        var attempts: Int
        var lastStatusCode: Nullable<Int>
        var lastError: Nullable<String>
        var deliveredAt: Nullable<Date>
        var createdAt: Date
        var nextAttemptAt: Nullable<Date>

        enum CodingKeys: String, CodingKey {
            case deliveryID = "delivery_id"
            case event
            case jobID = "job_id"
            case status, attempts
            case lastStatusCode = "last_status_code"
            case lastError = "last_error"
            case deliveredAt = "delivered_at"
            case createdAt = "created_at"
            case nextAttemptAt = "next_attempt_at"
        }

        init(_ record: WebhookDeliveryRecord) {
            deliveryID = record.deliveryID.lowercasedString
            event = record.event
            jobID = Nullable(record.jobID?.lowercasedString)
            status = record.status.rawValue
            attempts = record.attempts
            lastStatusCode = Nullable(record.lastStatusCode)
            lastError = Nullable(record.lastError)
            deliveredAt = Nullable(record.deliveredAt)
            createdAt = record.createdAt
            nextAttemptAt = Nullable(record.nextAttemptAt)
        }
    }

    struct DeliveriesResponse: ResponseEncodable {
        var deliveries: [DeliveryResponse]
        var nextCursor: Nullable<String>

        enum CodingKeys: String, CodingKey {
            case deliveries
            case nextCursor = "next_cursor"
        }
    }

    /// The controller of the running application: its stores, its secret box, and the policy of
    /// its environment.
    init(_ dependencies: AppDependencies) {
        self.init(
            webhooks: PostgresWebhookStore(postgres: dependencies.postgres),
            teams: dependencies.teams,
            secrets: dependencies.secrets,
            policy: WebhookTargetPolicy(production: dependencies.configuration.environment == .production)
        )
    }

    init(webhooks: any WebhookStore, teams: any TeamStore, secrets: SecretBox, policy: WebhookTargetPolicy) {
        self.webhooks = webhooks
        self.teams = teams
        self.secrets = secrets
        self.policy = policy
    }

    func addRoutes(teamOrAdmin: RouteTable<AppRequestContext>) {
        teamOrAdmin.put("/teams/{team_id}/webhook", use: put)
        teamOrAdmin.get("/teams/{team_id}/webhook", use: get)
        teamOrAdmin.delete("/teams/{team_id}/webhook", use: delete)
        teamOrAdmin.get("/teams/{team_id}/webhook/deliveries", use: deliveries)
    }

    @Sendable func put(_ request: Request, context: AppRequestContext) async throws -> EndpointResponse {
        let id = try context.teamID()
        // API.md's order: the body (400/422, the URL's syntax included) before a foreign team
        // (403); the host's lookup, which costs a thread, only for the team's own endpoint.
        let body = try await request.decode(as: PutBody.self, context: context)
        let events = try Self.events(body.events)
        do {
            try policy.checkURL(body.url)
        } catch {
            throw APIError.webhookURLRefused(error)
        }
        try context.requireOwnTeam(id, for: .webhook)
        do {
            try await policy.checkResolvedOrBusy(body.url)
        } catch let refusal as WebhookTargetRefusal {
            throw APIError.webhookURLRefused(refusal)
        } catch is AddressLookupBusy {
            throw APIError.addressLookupsBusy
        }
        let secret = WebhookSecret.mint()
        let endpoint = try await webhooks.put(teamID: id, url: body.url, events: events, sealedSecret: try secrets.seal(secret))
        return EndpointResponse(endpoint, secret: secret)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> EndpointResponse {
        let id = try context.teamID()
        try context.requireOwnTeam(id, for: .webhook)
        guard let endpoint = try await webhooks.get(teamID: id) else { throw try await notConfigured(id) }
        return EndpointResponse(endpoint)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> DeletedResponse {
        let id = try context.teamID()
        try context.requireOwnTeam(id, for: .webhook)
        guard try await webhooks.delete(teamID: id) else { throw try await notConfigured(id) }
        return DeletedResponse(teamID: id, deleted: true)
    }

    @Sendable func deliveries(_ request: Request, context: AppRequestContext) async throws -> DeliveriesResponse {
        let id = try context.teamID()
        try context.requireOwnTeam(id, for: .webhook)
        let query = try ListQuery(request)
        _ = try await teams.get(id)  // 404 for an unknown team rather than an empty list
        let page = try await webhooks.deliveries(teamID: id, limit: query.limit, after: query.position)
        return DeliveriesResponse(deliveries: page.items.map(DeliveryResponse.init), nextCursor: Nullable(page.nextCursor))
    }

    /// `events`: at least one, each known, none twice.
    static func events(_ names: [String]) throws(APIError) -> [WebhookEvent] {
        guard !names.isEmpty else { throw .webhookEventsEmpty }
        var events: [WebhookEvent] = []
        for name in names {
            guard let event = WebhookEvent(rawValue: name) else { throw .webhookEventUnknown }
            guard !events.contains(event) else { throw .webhookEventRepeated(event.rawValue) }
            events.append(event)
        }
        return events
    }

    /// A team without an endpoint is `Webhook not configured`; a team that does not exist (only
    /// the admin key can name one) is the team's 404.
    private func notConfigured(_ teamID: String) async throws -> APIError {
        _ = try await teams.get(teamID)
        return .webhookNotConfigured
    }
}
