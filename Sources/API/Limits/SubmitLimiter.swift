import Foundation
import Redis
import Shared

/// The per-team submit limits (API.md "Batches, estimates, limits, retention"), checked on every
/// route that creates jobs after authentication and the suspension check and before the body is
/// read (API.md's order: 401 → 403 → 429 → 400/422 …), so a team over its limit costs no
/// decoding, no database write and no upload.
///
/// - `submits_per_second`: a token bucket in Redis shared by every API process; one request is
///   one token (a batch too).
/// - `max_queued_jobs`: the team's jobs waiting in the queue (ready, parked or scheduled for a
///   retry). Approximate by the submits in flight: several submits checked at once may each find
///   room for one more, and a batch counts as one.
///
/// A team without either limit pays a cached read and nothing else: no Redis round trip.
struct SubmitLimiter: Sendable {
    let limits: TeamLimitsCache
    let redis: RedisClient
    let keys: QueueKeys

    /// Returns when the team may submit; throws a 429 naming the limit, with `Retry-After`.
    func admit(_ teamID: String) async throws {
        let limits = try await limits.limits(of: teamID)
        guard limits.limitsSubmits else { return }
        let reply = try await redis.run(
            SubmitLimitScript.script,
            keys: [RedisArgument(keys.submitBucket(team: teamID)), RedisArgument(keys.ready(team: teamID)), RedisArgument(keys.scheduledCounts)],
            arguments: [
                RedisArgument(limits.submitsPerSecond.map { "\($0)" } ?? "0"), RedisArgument(limits.maxQueuedJobs ?? 0), RedisArgument(teamID),
            ]
        )
        guard let values = reply.array?.compactMap(\.int), values.count == 2 else {
            throw RedisError.unexpectedReply("submit limit: \(reply)")
        }
        switch values[0] {
        case 1: throw APIError.submitLimitExceeded("submits_per_second", retryAfter: values[1])
        case 2: throw APIError.submitLimitExceeded("max_queued_jobs", retryAfter: values[1])
        default: return
        }
    }
}
