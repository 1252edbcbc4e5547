public import Foundation

/// A team's limits (admin `PUT /api/teams/{team_id}/limits`, API.md "Batches, estimates, limits,
/// retention"). `nil` is "no limit". The bounds are migration 0009's CHECKs, so a value the API
/// accepts is one PostgreSQL stores.
///
/// Who enforces what: the API refuses submits over `submitsPerSecond` (a token bucket in Redis
/// shared by every API process) or `maxQueuedJobs` (the team's jobs waiting in the queue); the
/// queue's claim never leases more than `maxConcurrentJobs` of the team's jobs at once; the
/// sweeper erases contents after `retentionDays`; `lowBalanceThreshold` arms the `credits.low`
/// alert written by a trigger beside the balance.
public struct TeamLimits: Sendable, Hashable {
    public var maxQueuedJobs: Int?
    /// Submit requests a second (a batch is one); three decimal places, as the column keeps.
    public var submitsPerSecond: Decimal?
    public var maxConcurrentJobs: Int?
    public var retentionDays: Int?
    public var lowBalanceThreshold: Int?

    public static let maxQueuedJobsRange = 1...10_000_000
    /// The column keeps three decimal places: anything below 0.001 would be stored as 0.
    public static let submitsPerSecondRange = Decimal(string: "0.001")!...Decimal(100_000)
    public static let maxConcurrentJobsRange = 1...100_000
    public static let retentionDaysRange = 1...3650
    /// At least 0; at most the largest balance an account may hold.
    public static let lowBalanceThresholdRange = 0...CreditLimits.maximumBalance

    public init(
        maxQueuedJobs: Int? = nil,
        submitsPerSecond: Decimal? = nil,
        maxConcurrentJobs: Int? = nil,
        retentionDays: Int? = nil,
        lowBalanceThreshold: Int? = nil
    ) {
        self.maxQueuedJobs = maxQueuedJobs
        self.submitsPerSecond = submitsPerSecond
        self.maxConcurrentJobs = maxConcurrentJobs
        self.retentionDays = retentionDays
        self.lowBalanceThreshold = lowBalanceThreshold
    }

    /// Whether a submit of this team has anything to check: without either limit a submit costs
    /// no Redis round trip.
    public var limitsSubmits: Bool { maxQueuedJobs != nil || submitsPerSecond != nil }
}

/// One field of a limits change: a field absent from the body leaves the limit as it is, `null`
/// clears it, a value sets it.
public enum LimitUpdate<Value: Sendable & Hashable>: Sendable, Hashable {
    case keep
    case clear
    case set(Value)

    public func applied(to current: Value?) -> Value? {
        switch self {
        case .keep: return current
        case .clear: return nil
        case .set(let value): return value
        }
    }

    /// Whether the field was in the body (set or cleared).
    public var isChange: Bool {
        if case .keep = self { return false }
        return true
    }
}

/// What a `PUT /api/teams/{team_id}/limits` changes, field by field.
public struct TeamLimitsChange: Sendable, Hashable {
    public var maxQueuedJobs: LimitUpdate<Int>
    public var submitsPerSecond: LimitUpdate<Decimal>
    public var maxConcurrentJobs: LimitUpdate<Int>
    public var retentionDays: LimitUpdate<Int>
    public var lowBalanceThreshold: LimitUpdate<Int>

    public init(
        maxQueuedJobs: LimitUpdate<Int> = .keep,
        submitsPerSecond: LimitUpdate<Decimal> = .keep,
        maxConcurrentJobs: LimitUpdate<Int> = .keep,
        retentionDays: LimitUpdate<Int> = .keep,
        lowBalanceThreshold: LimitUpdate<Int> = .keep
    ) {
        self.maxQueuedJobs = maxQueuedJobs
        self.submitsPerSecond = submitsPerSecond
        self.maxConcurrentJobs = maxConcurrentJobs
        self.retentionDays = retentionDays
        self.lowBalanceThreshold = lowBalanceThreshold
    }
}
