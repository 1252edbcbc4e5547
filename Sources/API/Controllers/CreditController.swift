import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Shared

/// `/api/credits/teams/{team_id}…`: admins add, adjust and change billing; admins and the team
/// itself read the balance and the ledger.
struct CreditController {
    let credits: any CreditStore
    let teams: any TeamStore
    let balances: BalanceReader

    struct AddBody: Decodable {
        var credits: Int
        var reason: String?
    }

    struct AdjustBody: Decodable {
        var credits: Int
        var reason: String
    }

    struct BudgetModeBody: Decodable {
        var budgetMode: String
        var tokensPerCredit: Int?
        var creditsPerDollar: Decimal?

        enum CodingKeys: String, CodingKey {
            case budgetMode = "budget_mode"
            case tokensPerCredit = "tokens_per_credit"
            case creditsPerDollar = "credits_per_dollar"
        }
    }

    struct TransactionResponse: Codable {
        var transactionID: String
        var teamID: String
        var transactionType: String
        var creditsAmount: Int
        var creditsAfter: Int
        var jobID: String?
        var reason: String?
        var createdAt: Date

        enum CodingKeys: String, CodingKey {
            case transactionID = "transaction_id"
            case teamID = "team_id"
            case transactionType = "transaction_type"
            case creditsAmount = "credits_amount"
            case creditsAfter = "credits_after"
            case jobID = "job_id"
            case reason
            case createdAt = "created_at"
        }

        init(_ entry: LedgerEntry) {
            transactionID = entry.transactionID.lowercasedString
            teamID = entry.teamID
            transactionType = entry.type.rawValue
            creditsAmount = entry.amount
            creditsAfter = entry.after
            jobID = entry.jobID?.lowercasedString
            reason = entry.reason
            createdAt = entry.createdAt
        }
    }

    struct ChangeResponse: ResponseEncodable {
        var teamID: String
        var creditsAdded: Int
        var transaction: TransactionResponse

        enum CodingKeys: String, CodingKey {
            case teamID = "team_id"
            case creditsAdded = "credits_added"
            case transaction
        }
    }

    struct BalanceResponse: JSONWritable {
        var teamID: String
        var creditsAllocated: Int
        var creditsUsed: Int
        var creditsReserved: Int
        var creditsRemaining: Int
        var budgetMode: String
        var tokensPerCredit: Int
        var creditsPerDollar: Decimal

        enum CodingKeys: String, CodingKey {
            case teamID = "team_id"
            case creditsAllocated = "credits_allocated"
            case creditsUsed = "credits_used"
            case creditsReserved = "credits_reserved"
            case creditsRemaining = "credits_remaining"
            case budgetMode = "budget_mode"
            case tokensPerCredit = "tokens_per_credit"
            case creditsPerDollar = "credits_per_dollar"
        }

        /// Written directly (``JSONWritable``): the same JSON as the `Encodable` conformance.
        static let writerCapacity = 256

        func write(to writer: inout JSONWriter) {
            writer.beginObject()
            writer.key("team_id")
            writer.string(teamID)
            writer.key("credits_allocated")
            writer.int(creditsAllocated)
            writer.key("credits_used")
            writer.int(creditsUsed)
            writer.key("credits_reserved")
            writer.int(creditsReserved)
            writer.key("credits_remaining")
            writer.int(creditsRemaining)
            writer.key("budget_mode")
            writer.string(budgetMode)
            writer.key("tokens_per_credit")
            writer.int(tokensPerCredit)
            writer.key("credits_per_dollar")
            writer.decimal(creditsPerDollar)
            writer.endObject()
        }
    }

    struct TransactionsResponse: ResponseEncodable {
        var transactions: [TransactionResponse]
        var nextCursor: Nullable<String>

        enum CodingKeys: String, CodingKey {
            case transactions
            case nextCursor = "next_cursor"
        }
    }

    func addRoutes(admin: RouteTable<AppRequestContext>, teamOrAdmin: RouteTable<AppRequestContext>) {
        admin.post("/credits/teams/{team_id}/add", use: add)
        admin.post("/credits/teams/{team_id}/adjust", use: adjust)
        admin.patch("/credits/teams/{team_id}/budget-mode", use: setBudgetMode)
        teamOrAdmin.get("/credits/teams/{team_id}/balance", use: balance)
        teamOrAdmin.get("/credits/teams/{team_id}/transactions", use: transactions)
    }

    @Sendable func add(_ request: Request, context: AppRequestContext) async throws -> ChangeResponse {
        let id = try context.teamID()
        let data = try await request.decode(as: AddBody.self, context: context)
        let entry = try await Self.add(
            teamID: id,
            credits: data.credits,
            reason: data.reason,
            idempotencyKey: request.headers[Request.idempotencyKeyHeader],
            to: credits
        )
        return ChangeResponse(teamID: id, creditsAdded: entry.amount, transaction: TransactionResponse(entry))
    }

    /// Adding credits, for this API's route and the dashboard's form alike (one set of rules):
    /// the amount and reason checked, the idempotency key checked as the header's is, what the
    /// key promises (the same team, amount and reason) and the answer to an unknown outcome.
    static func add(
        teamID id: String,
        credits amount: Int,
        reason: String?,
        idempotencyKey: String?,
        to credits: any CreditStore
    ) async throws -> LedgerEntry {
        guard amount > 0 else { throw APIError.creditsNotPositive }
        guard amount <= CreditLimits.maximumChange else { throw APIError.creditsAboveMaximum }
        try Validate.optionalName(reason, field: "reason", max: 500)
        var key: String?
        if let idempotencyKey { key = try Request.validIdempotencyKey(idempotencyKey) }
        let hash = key.map { _ in Array(SHA256.hash(data: Array("\(id)\u{0}\(amount)\u{0}\(reason ?? "")".utf8))) }
        return try await answeringUnknownOutcome(idempotencyKey: key) {
            try await credits.add(teamID: id, credits: amount, reason: reason, idempotencyKey: key, requestHash: hash)
        }
    }

    @Sendable func adjust(_ request: Request, context: AppRequestContext) async throws -> ChangeResponse {
        let id = try context.teamID()
        let data = try await request.decode(as: AdjustBody.self, context: context)
        guard data.credits != 0 else { throw APIError.creditsZero }
        guard (-CreditLimits.maximumChange...CreditLimits.maximumChange).contains(data.credits) else {
            throw APIError.notBetween(-CreditLimits.maximumChange, CreditLimits.maximumChange, field: "credits")
        }
        try Validate.name(data.reason, field: "reason", max: 500)
        let key = try request.idempotencyKey()
        // What the key promises: an adjustment of the same team, amount and reason (never an add's).
        let hash = key.map { _ in Array(SHA256.hash(data: Array("adjust\u{0}\(id)\u{0}\(data.credits)\u{0}\(data.reason)".utf8))) }
        let entry = try await Self.answeringUnknownOutcome(idempotencyKey: key) {
            try await credits.adjust(teamID: id, credits: data.credits, reason: data.reason, idempotencyKey: key, requestHash: hash)
        }
        return ChangeResponse(teamID: id, creditsAdded: entry.amount, transaction: TransactionResponse(entry))
    }

    /// A balance change whose commit outcome is unknown says whether a retry is safe.
    static func answeringUnknownOutcome<T>(idempotencyKey: String?, _ change: () async throws -> T) async throws -> T {
        try await UnknownOutcome.answering(idempotencyKey: idempotencyKey, withoutKey: .creditsOutcomeUnknown, change)
    }

    @Sendable func setBudgetMode(_ request: Request, context: AppRequestContext) async throws -> BalanceResponse {
        let id = try context.teamID()
        let data = try await request.decode(as: BudgetModeBody.self, context: context)
        let billing = try TeamController.billing(
            mode: data.budgetMode,
            tokensPerCredit: data.tokensPerCredit,
            creditsPerDollar: data.creditsPerDollar,
            base: BillingSettings()
        )
        let team = try await teams.setBilling(
            id,
            mode: billing.budgetMode,
            tokensPerCredit: data.tokensPerCredit,
            creditsPerDollar: data.creditsPerDollar
        )
        return Self.balanceResponse(id, team.balance, team.billing)
    }

    @Sendable func balance(_ request: Request, context: AppRequestContext) async throws -> BalanceResponse {
        let id = try context.teamID()
        try context.requireOwnTeam(id, for: .creditBalance)
        let (balance, billing) = try await balances.balance(id)
        return Self.balanceResponse(id, balance, billing)
    }

    @Sendable func transactions(_ request: Request, context: AppRequestContext) async throws -> TransactionsResponse {
        let id = try context.teamID()
        try context.requireOwnTeam(id, for: .creditTransactions)
        let query = try ListQuery(request)
        _ = try await credits.balance(teamID: id)  // 404 for an unknown team rather than an empty list
        let page = try await credits.transactions(teamID: id, limit: query.limit, after: query.position)
        return TransactionsResponse(transactions: page.items.map(TransactionResponse.init), nextCursor: Nullable(page.nextCursor))
    }

    static func balanceResponse(_ id: String, _ balance: CreditBalance, _ billing: BillingSettings) -> BalanceResponse {
        BalanceResponse(
            teamID: id,
            creditsAllocated: balance.allocated,
            creditsUsed: balance.used,
            creditsReserved: balance.reserved,
            creditsRemaining: balance.remaining,
            budgetMode: billing.budgetMode.rawValue,
            tokensPerCredit: billing.tokensPerCredit,
            creditsPerDollar: billing.creditsPerDollar
        )
    }

}
