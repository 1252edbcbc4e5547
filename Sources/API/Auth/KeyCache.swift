import Foundation
import Shared
import Synchronization

/// Remembers which team a key hash belongs to for half a second. Every API process has its own,
/// so a suspension or rotation reaches all of them within that time without any messaging —
/// and a hot key costs one database lookup per half second instead of one per request.
final class KeyCache: Sendable {
    private struct Entry {
        var identity: TeamIdentity?
        var expires: ContinuousClock.Instant
    }

    static let timeToLive: Duration = .milliseconds(500)
    private let entries = Mutex<[[UInt8]: Entry]>([:])
    /// Lookups under way: when an entry expires under load, the requests that find it stale
    /// share one database lookup instead of each making its own.
    private let loading = Mutex<[[UInt8]: Task<TeamIdentity?, any Error>]>([:])
    private let capacity: Int

    init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// The cached answer for a hash: `.some(nil)` is a cached "no such key".
    func lookup(_ hash: [UInt8]) -> TeamIdentity?? {
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries[hash], entry.expires > now else { return .none }
            return .some(entry.identity)
        }
    }

    func store(_ hash: [UInt8], _ identity: TeamIdentity?) {
        let expires = ContinuousClock.now + Self.timeToLive
        entries.withLock { entries in
            if entries.count >= capacity {
                let now = ContinuousClock.now
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[hash] = Entry(identity: identity, expires: expires)
        }
    }

    /// The cached identity, or the result of `load` — one `load` per hash at a time.
    func identity(for hash: [UInt8], load: @escaping @Sendable () async throws -> TeamIdentity?) async throws -> TeamIdentity? {
        if let cached = lookup(hash) { return cached }
        let task: Task<TeamIdentity?, any Error> = loading.withLock { loading in
            if let running = loading[hash] { return running }
            let task = Task { try await load() }
            loading[hash] = task
            return task
        }
        do {
            let identity = try await task.value
            store(hash, identity)
            loading.withLock { $0[hash] = nil }
            return identity
        } catch {
            loading.withLock { $0[hash] = nil }
            throw error
        }
    }
}
