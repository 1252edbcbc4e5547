public import Foundation

/// A customer organization: the owner of teams.
public struct Organization: Sendable, Hashable, Codable {
    public var organizationID: String
    public var name: String
    public var metadata: JSONObject
    public var createdAt: Date
    public var updatedAt: Date

    public init(organizationID: String, name: String, metadata: JSONObject, createdAt: Date, updatedAt: Date) {
        self.organizationID = organizationID
        self.name = name
        self.metadata = metadata
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public enum TeamStatus: String, Sendable, Codable, Hashable {
    case active, suspended
}

/// How a team's completed jobs are charged (API.md, Credits).
public enum BudgetMode: String, Sendable, Codable, Hashable, CaseIterable {
    /// One credit per completed job.
    case jobBased = "job_based"
    /// `max(1, total_tokens / tokens_per_credit)`.
    case consumptionTokens = "consumption_tokens"
    /// `max(1, cost_usd * credits_per_dollar)`.
    case consumptionUSD = "consumption_usd"
}

/// A team's billing settings: the mode and its rates.
public struct BillingSettings: Sendable, Hashable, Codable {
    public var budgetMode: BudgetMode
    public var tokensPerCredit: Int
    public var creditsPerDollar: Decimal

    public static let defaultTokensPerCredit = 10_000
    public static let defaultCreditsPerDollar = Decimal(10)

    public init(
        budgetMode: BudgetMode = .jobBased,
        tokensPerCredit: Int = defaultTokensPerCredit,
        creditsPerDollar: Decimal = defaultCreditsPerDollar
    ) {
        self.budgetMode = budgetMode
        self.tokensPerCredit = tokensPerCredit
        self.creditsPerDollar = creditsPerDollar
    }
}

/// Bounds that keep every balance computation far from integer overflow.
public enum CreditLimits {
    /// The most one allocation, addition or adjustment may move.
    public static let maximumChange = 1_000_000_000_000
    /// The most a balance may hold (also a constraint in the database).
    public static let maximumBalance = 1_000_000_000_000_000
}

/// A team's balance. `remaining = allocated - used - reserved`, never below zero.
public struct CreditBalance: Sendable, Hashable, Codable {
    public var allocated: Int
    public var used: Int
    public var reserved: Int
    public var remaining: Int { allocated - used - reserved }

    public init(allocated: Int, used: Int, reserved: Int) {
        self.allocated = allocated
        self.used = used
        self.reserved = reserved
    }
}

/// A team: the tenant that submits jobs with its virtual key.
public struct Team: Sendable, Hashable {
    public var teamID: String
    public var organizationID: String
    public var teamAlias: String?
    public var status: TeamStatus
    public var modelGroups: [String]
    public var billing: BillingSettings
    public var balance: CreditBalance
    /// The first characters of the current key, for recognising it; never the key.
    public var keyPrefix: String?
    public var metadata: JSONObject
    public var createdAt: Date
    public var updatedAt: Date
    /// Its limits (``TeamLimits``); none by default.
    public var limits = TeamLimits()
}

/// The one time a key is seen: at creation or rotation.
public struct MintedKey: Sendable, Hashable {
    public var key: String
    public var prefix: String
    public var hash: [UInt8]
}
