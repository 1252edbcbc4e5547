import Foundation
import Shared
import Synchronization

/// Remembers which team a key hash belongs to for half a second. Every API process has its own,
/// so a suspension or rotation reaches all of them within that time without any messaging —
/// and a hot key costs one database lookup per half second instead of one per request.
///
/// Keys the database does not know are remembered apart, as unknown, for longer (a few seconds)
/// and in a bounded space of their own: a flood of made-up keys costs one lookup per key per
/// `unknownTimeToLive` rather than one per request, and can neither grow memory without bound nor
/// push the known keys out. A key minted by this process is forgotten as unknown at once
/// (``forget(_:)``), and a lookup that raced with a mint does not store "unknown" — so the cache
/// never makes a new team's key fail. (Another process cannot have cached a new key as unknown:
/// that would take presenting the key before it was minted, i.e. guessing 32 random characters.)
final class KeyCache: Sendable {
    private struct Entry {
        var identity: TeamIdentity?
        var expires: ContinuousClock.Instant
    }

    static let timeToLive: Duration = .milliseconds(500)
    static let unknownTimeToLive: Duration = .seconds(5)
    private let entries = Mutex<[[UInt8]: Entry]>([:])
    private let unknown = Mutex<(expiries: [[UInt8]: ContinuousClock.Instant], mints: Int)>(([:], 0))
    /// Lookups under way: when an entry expires under load, the requests that find it stale
    /// share one database lookup instead of each making its own.
    private let loading = Mutex<[[UInt8]: Task<TeamIdentity?, any Error>]>([:])
    private let capacity: Int
    private let unknownCapacity: Int
    private let knownFor: Duration
    private let unknownFor: Duration

    /// `knownFor` and `unknownFor` are how long a key's team, or its absence, is kept
    /// (``timeToLive``, ``unknownTimeToLive``; tests lengthen them so that a slow machine does not
    /// expire what they look at).
    init(
        capacity: Int = 100_000, unknownCapacity: Int = 100_000, knownFor: Duration = KeyCache.timeToLive,
        unknownFor: Duration = KeyCache.unknownTimeToLive
    ) {
        self.capacity = capacity
        self.unknownCapacity = unknownCapacity
        self.knownFor = knownFor
        self.unknownFor = unknownFor
    }

    /// The cached answer for a hash: `.some(nil)` is a cached "no such key".
    func lookup(_ hash: [UInt8]) -> TeamIdentity?? {
        let now = ContinuousClock.now
        if let entry = entries.withLock({ $0[hash] }), entry.expires > now { return .some(entry.identity) }
        if let expires = unknown.withLock({ $0.expiries[hash] }), expires > now { return .some(nil) }
        return .none
    }

    /// Remembers a lookup's answer. An unknown key is not remembered when a key was minted since
    /// the lookup began (`mintsBefore`), in case it was that one.
    func store(_ hash: [UInt8], _ identity: TeamIdentity?, mintsBefore: Int? = nil) {
        let now = ContinuousClock.now
        guard identity == nil else {
            let expires = now + knownFor
            entries.withLock { entries in
                if entries.count >= capacity {
                    entries = entries.filter { $0.value.expires > now }
                    if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
                }
                entries[hash] = Entry(identity: identity, expires: expires)
            }
            return
        }
        entries.withLock { _ = $0.removeValue(forKey: hash) }
        unknown.withLock { unknown in
            if let mintsBefore, mintsBefore != unknown.mints { return }
            if unknown.expiries.count >= unknownCapacity {
                unknown.expiries = unknown.expiries.filter { $0.value > now }
                // Still full of live entries: a flood. Make room by dropping half, not all, so the
                // flood's own keys keep costing little.
                if unknown.expiries.count >= unknownCapacity {
                    for key in unknown.expiries.keys.prefix(unknownCapacity / 2 + 1) { unknown.expiries[key] = nil }
                }
            }
            unknown.expiries[hash] = now + unknownFor
        }
    }

    /// A key this process just minted: whatever was remembered about its hash is dropped.
    func forget(_ hash: [UInt8]) {
        unknown.withLock { unknown in
            unknown.mints &+= 1
            unknown.expiries[hash] = nil
        }
        entries.withLock { _ = $0.removeValue(forKey: hash) }
    }

    /// The cached identity, or the result of `load` — one `load` per hash at a time.
    func identity(for hash: [UInt8], load: @escaping @Sendable () async throws -> TeamIdentity?) async throws -> TeamIdentity? {
        if let cached = lookup(hash) { return cached }
        let mints = unknown.withLock { $0.mints }
        let task: Task<TeamIdentity?, any Error> = loading.withLock { loading in
            if let running = loading[hash] { return running }
            let task = Task { try await load() }
            loading[hash] = task
            return task
        }
        do {
            let identity = try await task.value
            store(hash, identity, mintsBefore: mints)
            loading.withLock { $0[hash] = nil }
            return identity
        } catch {
            loading.withLock { $0[hash] = nil }
            throw error
        }
    }
}
