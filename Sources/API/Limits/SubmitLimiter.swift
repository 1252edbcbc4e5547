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
///   room for one more. A batch is checked twice: as one job before its body is read, then with
///   its count once its envelope is (``admitQueued(_:jobs:)``), taking no second token.
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
        try await run(teamID, rate: limits.submitsPerSecond.map { "\($0)" } ?? "0", maxQueued: limits.maxQueuedJobs ?? 0, jobs: 1)
    }

    /// `max_queued_jobs` for a request adding `jobs` jobs at once (a batch, its envelope read):
    /// the team's waiting jobs plus `jobs` must not pass the limit. Takes no `submits_per_second`
    /// token — the request took its one in ``admit(_:)``.
    func admitQueued(_ teamID: String, jobs: Int) async throws {
        let limits = try await limits.limits(of: teamID)
        guard let maxQueued = limits.maxQueuedJobs, maxQueued > 0 else { return }
        try await run(teamID, rate: "0", maxQueued: maxQueued, jobs: jobs)
    }

    private func run(_ teamID: String, rate: String, maxQueued: Int, jobs: Int) async throws {
        let reply = try await redis.run(
            SubmitLimitScript.script,
            keys: [RedisArgument(keys.submitBucket(team: teamID)), RedisArgument(keys.ready(team: teamID)), RedisArgument(keys.scheduledCounts)],
            arguments: [RedisArgument(rate), RedisArgument(maxQueued), RedisArgument(teamID), RedisArgument(jobs)]
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
