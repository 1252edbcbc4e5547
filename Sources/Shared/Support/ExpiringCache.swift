import Synchronization

/// Values read far more often than they change — a key's team, a team's model groups, a
/// provider's endpoint — kept for a while in each process, so that a change reaches every process
/// within `timeToLive` without any messaging, and a hot key costs one load per `timeToLive`
/// instead of one per request.
///
/// **Single flight.** Concurrent misses for one key share one load: when a hot entry expires
/// under load, the requests that find it stale wait for one database read instead of each making
/// its own (a stampede exactly when the database is busiest). The load runs in a task of its own,
/// so a caller that gives up does not cancel it for the others. A failed load is not kept: the
/// callers that shared it all see the error, and the next caller loads again.
///
/// **Remembered misses**, when `missTimeToLive` is above zero: a load that finds nothing (`nil`,
/// through ``valueIfPresent(for:load:)``) is kept as "none" for that long, in a bounded space of its
/// own — a flood of made-up keys then costs one load per key per `missTimeToLive`, and can neither
/// grow memory without bound nor push the values out.
///
/// Both spaces are bounded by their capacity: when one is full, expired entries go first; if it
/// is still full of live ones (a flood), half of them go, so that the flood's own keys keep
/// costing little. Every operation holds a lock for a dictionary access and nothing more.
public final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    public typealias Instant = ContinuousClock.Instant

    private struct Load {
        var id: UInt64
        var task: Task<Value?, any Error>
    }

    private struct Limits {
        var timeToLive: Duration
        var capacity: Int
        var missTimeToLive: Duration
        var missCapacity: Int
    }

    private struct State {
        var values: [Key: (value: Value, expires: Instant)] = [:]
        var misses: [Key: Instant] = [:]
        var loads: [Key: Load] = [:]
        var nextLoad: UInt64 = 0

        /// `.some(value)`, `.some(nil)` for a remembered miss, `nil` for nothing live.
        func kept(_ key: Key, at now: Instant) -> Value?? {
            if let entry = values[key], entry.expires > now { return .some(entry.value) }
            if let expires = misses[key], expires > now { return .some(nil) }
            return nil
        }

        mutating func keep(_ value: Value?, for key: Key, at now: Instant, _ limits: Limits) {
            if let value {
                misses[key] = nil
                if values[key] == nil, values.count >= limits.capacity {
                    values = values.filter { $0.value.expires > now }
                    Self.dropHalf(&values, ifFull: limits.capacity)
                }
                values[key] = (value, now + limits.timeToLive)
            } else {
                values[key] = nil
                guard limits.missTimeToLive > .zero else { return }
                if misses[key] == nil, misses.count >= limits.missCapacity {
                    misses = misses.filter { $0.value > now }
                    Self.dropHalf(&misses, ifFull: limits.missCapacity)
                }
                misses[key] = now + limits.missTimeToLive
            }
        }

        private static func dropHalf<V>(_ entries: inout [Key: V], ifFull capacity: Int) {
            guard entries.count >= capacity else { return }
            for key in Array(entries.keys.prefix(capacity / 2 + 1)) { entries[key] = nil }
        }
    }

    private enum Lookup {
        case kept(Value?)
        case wait(Load)
    }

    private let state = Mutex(State())
    private let limits: Limits
    private let now: @Sendable () -> Instant

    /// - Parameters:
    ///   - timeToLive: how long a loaded value is kept.
    ///   - capacity: the most values kept.
    ///   - missTimeToLive: how long a load's "none" is kept; zero keeps none.
    ///   - missCapacity: the most misses kept, apart from the values.
    ///   - now: the clock (tests move it by hand instead of sleeping).
    public init(
        timeToLive: Duration,
        capacity: Int = 100_000,
        missTimeToLive: Duration = .zero,
        missCapacity: Int = 100_000,
        now: @escaping @Sendable () -> Instant = { ContinuousClock.now }
    ) {
        self.limits = Limits(
            timeToLive: timeToLive,
            capacity: max(1, capacity),
            missTimeToLive: missTimeToLive,
            missCapacity: max(1, missCapacity)
        )
        self.now = now
    }

    /// What is kept for `key`: `.some(value)`, `.some(nil)` for a remembered miss, and `nil` when
    /// nothing live is.
    public func cached(_ key: Key) -> Value?? {
        let now = now()
        return state.withLock { $0.kept(key, at: now) }
    }

    /// The kept value, or the result of `load` — shared by every caller that misses `key` while
    /// it runs — which is then kept.
    public func value(for key: Key, load: @escaping @Sendable () async throws -> Value) async throws -> Value {
        if let value = try await valueIfPresent(for: key, load: { try await load() }) { return value }
        // Only when misses were stored for this key through the other entry points.
        return try await load()
    }

    /// The kept value or remembered miss, or the result of `load` — shared by every caller that
    /// misses `key` while it runs — which is then kept (a `nil` as a miss).
    public func valueIfPresent(for key: Key, load: @escaping @Sendable () async throws -> Value?) async throws -> Value? {
        let asked = now()
        let lookup: Lookup = state.withLock { state in
            if let kept = state.kept(key, at: asked) { return .kept(kept) }
            if let running = state.loads[key] { return .wait(running) }
            let started = Load(id: state.nextLoad, task: Task { try await load() })
            state.nextLoad &+= 1
            state.loads[key] = started
            return .wait(started)
        }
        let load: Load
        switch lookup {
        case .kept(let value): return value
        case .wait(let running): load = running
        }
        let result = await load.task.result
        let finished = now()
        state.withLock { state in
            // The first waiter back keeps the answer; a load that ``remove(_:)`` detached meanwhile
            // is not kept, since what it read may predate the change that removed it.
            guard state.loads[key]?.id == load.id else { return }
            state.loads[key] = nil
            if case .success(let value) = result { state.keep(value, for: key, at: finished, limits) }
        }
        return try result.get()
    }

    /// Keeps `value` (a `nil` as a miss) for `key`, as a load's answer would be.
    public func store(_ value: Value?, for key: Key) {
        let now = now()
        state.withLock { $0.keep(value, for: key, at: now, limits) }
    }

    /// Forgets `key` — its value or miss — and detaches a load under way for it: that load's
    /// callers still get its answer, but it is not kept, and later callers start a load of their
    /// own. For a change this process made and must see at once (a key it just minted).
    public func remove(_ key: Key) {
        state.withLock { state in
            state.values[key] = nil
            state.misses[key] = nil
            state.loads[key] = nil
        }
    }
}
