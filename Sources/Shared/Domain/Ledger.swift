public import Foundation

/// The kinds of ledger rows (API.md, Credits).
public enum LedgerEntryType: String, Sendable, Codable, Hashable {
    case allocation, adjustment, reservation, charge, release
}

/// One change of a team's balance. `amount` is the change of `credits_remaining` and `after` the
/// remaining balance after it, so a team's rows add up to its balance.
public struct LedgerEntry: Sendable, Hashable {
    public var transactionID: UUID
    public var teamID: String
    public var type: LedgerEntryType
    public var amount: Int
    public var after: Int
    public var jobID: UUID?
    public var reason: String?
    public var createdAt: Date
}
