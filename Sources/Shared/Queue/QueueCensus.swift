public import Foundation
import Redis

/// One team's part of the queue as the queue itself holds it: what a worker could claim now
/// (`ready`, parked teams' included), what waits for a retry (`scheduled`) and what is leased.
public struct TeamQueueCounts: Sendable, Hashable {
    public var teamID: String
    public var ready: Int
    public var scheduled: Int
    public var leased: Int

    public init(teamID: String, ready: Int, scheduled: Int, leased: Int) {
        self.teamID = teamID
        self.ready = ready
        self.scheduled = scheduled
        self.leased = leased
    }
}

/// A queue that counts its jobs per team at a cost that does not grow with the backlog (issue 13,
/// item 4): the sweeper's queue gauges read it instead of aggregating every live job in
/// PostgreSQL (``JobStore/queueStats()``), which at a backlog of a million took longer than the
/// rest of the sweep.
public protocol QueueCensus: Sendable {
    /// Every team with ready, scheduled or leased jobs, by team id.
    func teamCounts() async throws -> [TeamQueueCounts]
}

extension RedisJobQueue: QueueCensus {
    /// Teams (or leases) one command carries: Redis serves other clients between two, so the
    /// census never holds it for long (one script counting 10,000 teams did, for tens of ms).
    static let censusChunk = 1000

    /// ARGV: teams. The ZCARD of each one's ready set: a thousand O(1) calls, well under a
    /// millisecond of Redis, and one reply to parse instead of a thousand.
    static let readyCounts = RedisScript(
        """
        local out = {}
        for i = 1, #ARGV do out[i] = redis.call('ZCARD', KEYS[1] .. ':ready:' .. ARGV[i]) end
        return out
        """
    )

    /// Short commands, a thousand teams or leases each: first the due retries are made ready
    /// (``QueueScripts/promoteDue``, the claim's own first step, a thousand a call), so a retry
    /// whose delay has passed counts as ready even while no worker has a slot to claim it; then
    /// the teams with ready jobs (the rotation's, the parked and the capped ones — every team with
    /// ready jobs is in one of the three sets) and a ZCARD of each one's ready set; the scheduled
    /// jobs' per-team counter; the team of each lease. It costs the teams plus the leases (bounded
    /// by the workers' concurrency) plus the retries that fell due since the last census or
    /// claim, never the queued jobs. Not one snapshot: a claim between two commands may show a job
    /// in both states or neither, which a gauge read every sweep can afford.
    public func teamCounts() async throws -> [TeamQueueCounts] {
        // A full batch back means more may be due.
        var promoted = 0
        repeat {
            promoted = try await redis.run(QueueScripts.promoteDue, keys: [RedisArgument(keys.tag)]).int ?? 0
        } while promoted >= QueueScripts.promoteLimit
        let head = try await redis.pipeline([
            RedisCommand("SMEMBERS", RedisArgument(keys.active)),
            RedisCommand("SMEMBERS", RedisArgument(keys.suspended)),
            RedisCommand("SMEMBERS", RedisArgument(keys.capped)),
            RedisCommand("HGETALL", RedisArgument(keys.scheduledCounts)),
            RedisCommand("ZRANGE", RedisArgument(keys.leases), "0", "-1"),
        ])
        func strings(_ value: RedisValue) -> [String] { value.array?.compactMap(\.string) ?? [] }
        var figures: [String: TeamQueueCounts] = [:]
        func update(_ team: String, _ change: (inout TeamQueueCounts) -> Void) {
            var entry = figures[team] ?? TeamQueueCounts(teamID: team, ready: 0, scheduled: 0, leased: 0)
            change(&entry)
            figures[team] = entry
        }

        var seen = Set<String>()
        let readyTeams = (strings(head[0]) + strings(head[1]) + strings(head[2])).filter { seen.insert($0).inserted }
        for chunk in readyTeams.chunked(Self.censusChunk) {
            let reply = try await redis.run(Self.readyCounts, keys: [RedisArgument(keys.tag)], arguments: chunk.map { RedisArgument($0) })
            for (team, count) in zip(chunk, reply.array ?? []) {
                if let count = count.int, count > 0 { update(team) { $0.ready = count } }
            }
        }
        let scheduled = strings(head[3])
        for index in stride(from: 0, to: scheduled.count - 1, by: 2) {
            if let count = Int(scheduled[index + 1]), count > 0 { update(scheduled[index]) { $0.scheduled = count } }
        }
        for chunk in strings(head[4]).chunked(Self.censusChunk) {
            let reply = try await redis.send(RedisCommand("HMGET", [RedisArgument(keys.jobs)] + chunk.map { RedisArgument($0) }))
            for value in reply.array ?? [] {
                // "priority|team", as the scripts write it.
                guard let entry = value.string, let bar = entry.firstIndex(of: "|") else { continue }
                update(String(entry[entry.index(after: bar)...])) { $0.leased += 1 }
            }
        }
        return figures.values.sorted { $0.teamID < $1.teamID }
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    fileprivate func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

extension TeamQueueStats {
    /// The queue's counts of each team with the age of its oldest queued job (from PostgreSQL):
    /// the figures `JobStore.queueStats()` gives, read at a cost that stays flat as the backlog
    /// grows. Teams with only leased jobs have no oldest queued job.
    public static func combining(_ counts: [TeamQueueCounts], oldest: [String: Date]) -> [TeamQueueStats] {
        counts.map {
            TeamQueueStats(
                teamID: $0.teamID,
                queued: $0.ready,
                scheduled: $0.scheduled,
                inProgress: $0.leased,
                oldestQueuedAt: oldest[$0.teamID]
            )
        }
    }
}

extension JobStore {
    /// ``queueStats()`` at a cost that stays flat as the backlog grows, for the queue gauges and
    /// `GET /api/admin/queue`: when `queue` counts its own jobs (``QueueCensus``), its counts and
    /// each waiting team's oldest queued job (``oldestQueued(teams:)``, an index probe a team);
    /// otherwise the aggregate over the live jobs.
    public func queueStats(census queue: any JobQueue) async throws -> [TeamQueueStats] {
        guard let census = queue as? any QueueCensus else { return try await queueStats() }
        let counts = try await census.teamCounts()
        let waiting = counts.filter { $0.ready + $0.scheduled > 0 }.map(\.teamID)
        return TeamQueueStats.combining(counts, oldest: try await oldestQueued(teams: waiting))
    }
}
