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
        var budget_mode: String
        var tokens_per_credit: Int?
        var credits_per_dollar: Decimal?
    }

    struct TransactionResponse: Codable {
        var transaction_id: String
        var team_id: String
        var transaction_type: String
        var credits_amount: Int
        var credits_after: Int
        var job_id: String?
        var reason: String?
        var created_at: Date

        init(_ entry: LedgerEntry) {
            transaction_id = entry.transactionID.lowercasedString
            team_id = entry.teamID
            transaction_type = entry.type.rawValue
            credits_amount = entry.amount
            credits_after = entry.after
            job_id = entry.jobID?.lowercasedString
            reason = entry.reason
            created_at = entry.createdAt
        }
    }

    struct ChangeResponse: ResponseEncodable {
        var team_id: String
        var credits_added: Int
        var transaction: TransactionResponse
    }

    struct BalanceResponse: ResponseEncodable {
        var team_id: String
        var credits_allocated: Int
        var credits_used: Int
        var credits_reserved: Int
        var credits_remaining: Int
        var budget_mode: String
        var tokens_per_credit: Int
        var credits_per_dollar: Decimal
    }

    struct TransactionsResponse: ResponseEncodable {
        var transactions: [TransactionResponse]
        var next_cursor: Nullable<String>
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
        guard data.credits > 0 else { throw APIError.creditsNotPositive }
        guard data.credits <= CreditLimits.maximumChange else {
            throw APIError.creditsAboveMaximum
        }
        try Validate.optionalName(data.reason, field: "reason", max: 500)
        let key = try request.idempotencyKey()
        // What the key promises: the same team, amount and reason.
        let hash = key.map { _ in Array(SHA256.hash(data: Array("\(id)\u{0}\(data.credits)\u{0}\(data.reason ?? "")".utf8))) }
        let entry = try await Self.answeringUnknownOutcome(idempotencyKey: key) {
            try await credits.add(teamID: id, credits: data.credits, reason: data.reason, idempotencyKey: key, requestHash: hash)
        }
        return ChangeResponse(team_id: id, credits_added: entry.amount, transaction: TransactionResponse(entry))
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
        return ChangeResponse(team_id: id, credits_added: entry.amount, transaction: TransactionResponse(entry))
    }

    /// A balance change whose commit outcome is unknown says whether a retry is safe.
    static func answeringUnknownOutcome<T>(idempotencyKey: String?, _ change: () async throws -> T) async throws -> T {
        try await UnknownOutcome.answering(idempotencyKey: idempotencyKey, withoutKey: .creditsOutcomeUnknown, change)
    }

    @Sendable func setBudgetMode(_ request: Request, context: AppRequestContext) async throws -> BalanceResponse {
        let id = try context.teamID()
        let data = try await request.decode(as: BudgetModeBody.self, context: context)
        let billing = try TeamController.billing(
            mode: data.budget_mode, tokensPerCredit: data.tokens_per_credit, creditsPerDollar: data.credits_per_dollar, base: BillingSettings()
        )
        let team = try await teams.setBilling(
            id, mode: billing.budgetMode, tokensPerCredit: data.tokens_per_credit, creditsPerDollar: data.credits_per_dollar
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
        return TransactionsResponse(transactions: page.items.map(TransactionResponse.init), next_cursor: Nullable(page.nextCursor))
    }

    static func balanceResponse(_ id: String, _ balance: CreditBalance, _ billing: BillingSettings) -> BalanceResponse {
        BalanceResponse(
            team_id: id, credits_allocated: balance.allocated, credits_used: balance.used, credits_reserved: balance.reserved,
            credits_remaining: balance.remaining, budget_mode: billing.budgetMode.rawValue,
            tokens_per_credit: billing.tokensPerCredit, credits_per_dollar: billing.creditsPerDollar
        )
    }

}
