public import Foundation

/// Every Redis key and channel of one queue, built in one place. They all share the hash tag
/// `{name}` (``tag``), so a queue — its jobs, its workers' heartbeats, its providers' health —
/// lives on one Redis node when Redis is sharded, and the scripts can reach every key from
/// `KEYS[1]`.
///
/// The Lua scripts (``QueueScripts``, ``WorkerRegistry``) receive only ``tag`` and append the
/// same suffixes as the properties here; `QueueTests` reads the keys through this type, so a
/// suffix changed on one side and not the other fails there.
public struct QueueKeys: Sendable, Hashable {
    /// The queue's name: `q` in production, a name of its own per test.
    public let name: String

    public init(name: String = "q") {
        self.name = name
    }

    /// The hash tag every key starts with, and the scripts' `KEYS[1]`.
    public var tag: String { "{\(name)}" }

    // The job queue (see ``QueueScripts`` for what each holds).
    /// Hash job → "priority|team": the jobs the queue holds, in any state.
    public var jobs: String { tag + ":jobs" }
    /// Sorted set: one team's ready jobs, by (9 - priority, arrival).
    public func ready(team: String) -> String { tag + ":ready:" + team }
    /// List of the teams with ready jobs, rotated for round-robin fairness; idle workers block on it.
    public var teams: String { tag + ":teams" }
    /// Set mirroring ``teams``, so a team is listed once.
    public var active: String { tag + ":active" }
    /// Set of the teams whose jobs are parked.
    public var suspended: String { tag + ":suspended" }
    /// Hash team → when an API process last suspended or resumed it (ms).
    public var suspendedChanged: String { tag + ":suspended:changed" }
    /// Hash job → lease token.
    public var tokens: String { tag + ":tokens" }
    /// Sorted set job → lease expiry (ms).
    public var leases: String { tag + ":leases" }
    /// Sorted set job → when its retry falls due (ms).
    public var scheduled: String { tag + ":scheduled" }
    /// Hash team → how many of its jobs ``scheduled`` holds (the team's part of it, which the
    /// submit limit `max_queued_jobs` counts beside ``ready(team:)``).
    public var scheduledCounts: String { tag + ":scheduled:teams" }
    /// Counter giving ready jobs their arrival order.
    public var sequence: String { tag + ":seq" }

    // Per-team limits (see ``QueueScripts`` and the API's submit limiter).
    /// Sorted set: one team's leased jobs, job → lease expiry (ms); `max_concurrent_jobs` counts it.
    public func leased(team: String) -> String { tag + ":leased:" + team }
    /// Hash team → its `max_concurrent_jobs`.
    public var caps: String { tag + ":caps" }
    /// Set of the capped teams at their cap: out of the rotation until one of their leases ends.
    public var capped: String { tag + ":capped" }
    /// Hash (`tokens`, `ms`): one team's `submits_per_second` token bucket, shared by every API
    /// process.
    public func submitBucket(team: String) -> String { tag + ":submits:" + team }
    /// Hash: the sweeper's marker (`epoch`, `watermark`).
    public var sweepMarker: String { tag + ":sweep" }
    /// Hash (`paused` "1" or "0", `since` ms): the fleet-wide pause of claiming, read by the
    /// claim script (see ``QueuePause``).
    public var pause: String { tag + ":pause" }

    // Channels.
    /// Comma-separated ids of jobs that ended: long polls wake on them.
    public var completedChannel: String { tag + ":done" }
    /// Ids of jobs whose owner cancelled them: the worker running one stops its call.
    public var cancelChannel: String { tag + ":cancel" }
    /// `provider|model|milliseconds`: cool-downs one worker learned of, for the others.
    public var cooldownChannel: String { tag + ":cooldown" }
    /// "1" (paused) or "0" (resumed): each change of ``pause``, so idle claimers look at once.
    public var pauseChannel: String { tag + ":pause:changed" }
    /// `worker|version|concurrency`: an admin's change of one worker's concurrency.
    public var concurrencyChannel: String { tag + ":concurrency" }

    // Call streams (see ``RedisCallStreams``).
    /// Stream of one streaming call's deltas (its id is the call job's id).
    public func callStream(_ streamID: UUID) -> String { tag + ":stream:" + streamID.lowercasedString }
    /// Ids of call streams that got entries: the API's relays wake their readers on them.
    public var callStreamChannel: String { tag + ":streams" }

    // Workers (see ``WorkerRegistry``).
    /// Hash worker → its last heartbeat's ``WorkerInfo`` (JSON).
    public var workers: String { tag + ":workers" }
    /// Sorted set worker → last heartbeat (ms).
    public var workersSeen: String { tag + ":workers:seen" }
    /// Sorted set worker → when it counts as gone (ms).
    public var workersUntil: String { tag + ":workers:until" }
    /// Set of the workers an admin asked to drain.
    public var draining: String { tag + ":draining" }
    /// Hash worker → `version|concurrency`: the concurrency an admin asked of it, which its
    /// heartbeats read back (so a lost announcement is applied at the next beat).
    public var workersConcurrency: String { tag + ":workers:concurrency" }
    /// Counter giving each concurrency change its version (a later change wins).
    public var workersConcurrencyVersion: String { tag + ":workers:concurrency:version" }

    // Providers (see ``ProviderHealthBoard``).
    /// Hash provider → its ``ProviderHealthReport`` (JSON).
    public var providerHealth: String { tag + ":provider-health" }
    /// Counter of one provider+model's requests in one time window.
    public func requestBudget(provider: String, model: String, slot: Int) -> String {
        "\(tag):rpm:\(provider):\(model):\(slot)"
    }
}
