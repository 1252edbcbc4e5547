import Foundation
import Hummingbird
import Shared

/// The body of `PUT /api/teams/{team_id}/limits`: each field absent is left as it is, `null`
/// clears it (no limit), a value sets it. Types are checked by the decoder (422 naming the field),
/// bounds by ``validated()`` — the migration's CHECKs, so PostgreSQL never refuses what passed.
struct TeamLimitsBody: Decodable {
    var change: TeamLimitsChange

    enum CodingKeys: String, CodingKey {
        case maxQueuedJobs = "max_queued_jobs"
        case submitsPerSecond = "submits_per_second"
        case maxConcurrentJobs = "max_concurrent_jobs"
        case retentionDays = "retention_days"
        case lowBalanceThreshold = "low_balance_threshold"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func update<Value: Decodable & Sendable & Hashable>(_ key: CodingKeys, as type: Value.Type) throws -> LimitUpdate<Value> {
            guard container.contains(key) else { return .keep }
            if try container.decodeNil(forKey: key) { return .clear }
            return .set(try container.decode(Value.self, forKey: key))
        }
        change = TeamLimitsChange(
            maxQueuedJobs: try update(.maxQueuedJobs, as: Int.self),
            submitsPerSecond: try update(.submitsPerSecond, as: Decimal.self),
            maxConcurrentJobs: try update(.maxConcurrentJobs, as: Int.self),
            retentionDays: try update(.retentionDays, as: Int.self),
            lowBalanceThreshold: try update(.lowBalanceThreshold, as: Int.self)
        )
    }

    /// The change, its values within their bounds.
    func validated() throws(APIError) -> TeamLimitsChange {
        if case .set(let value) = change.maxQueuedJobs {
            try Validate.range(value, TeamLimits.maxQueuedJobsRange, field: CodingKeys.maxQueuedJobs.rawValue)
        }
        if case .set(let value) = change.submitsPerSecond, !TeamLimits.submitsPerSecondRange.contains(value) {
            throw .submitsPerSecondOutOfRange
        }
        if case .set(let value) = change.maxConcurrentJobs {
            try Validate.range(value, TeamLimits.maxConcurrentJobsRange, field: CodingKeys.maxConcurrentJobs.rawValue)
        }
        if case .set(let value) = change.retentionDays {
            try Validate.range(value, TeamLimits.retentionDaysRange, field: CodingKeys.retentionDays.rawValue)
        }
        if case .set(let value) = change.lowBalanceThreshold, !TeamLimits.lowBalanceThresholdRange.contains(value) {
            throw .lowBalanceThresholdOutOfRange
        }
        return change
    }
}

/// A team's limits as answers show them: every field, `null` for no limit.
struct TeamLimitsObject: Encodable, Sendable {
    var limits: TeamLimits

    enum CodingKeys: String, CodingKey {
        case maxQueuedJobs = "max_queued_jobs"
        case submitsPerSecond = "submits_per_second"
        case maxConcurrentJobs = "max_concurrent_jobs"
        case retentionDays = "retention_days"
        case lowBalanceThreshold = "low_balance_threshold"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(limits.maxQueuedJobs, forKey: .maxQueuedJobs)
        try container.encode(limits.submitsPerSecond, forKey: .submitsPerSecond)
        try container.encode(limits.maxConcurrentJobs, forKey: .maxConcurrentJobs)
        try container.encode(limits.retentionDays, forKey: .retentionDays)
        try container.encode(limits.lowBalanceThreshold, forKey: .lowBalanceThreshold)
    }
}

/// The answer of `PUT /api/teams/{team_id}/limits`: the team's id and its limits.
struct TeamLimitsResponse: ResponseEncodable {
    var teamID: String
    var limits: TeamLimits

    enum CodingKeys: String, CodingKey {
        case teamID = "team_id"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(teamID, forKey: .teamID)
        try TeamLimitsObject(limits: limits).encode(to: encoder)
    }
}
