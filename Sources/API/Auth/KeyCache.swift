import Shared

/// Remembers which team a key hash belongs to for half a second. Every API process has its own,
/// so a suspension or rotation reaches all of them within that time without any messaging —
/// and a hot key costs one database lookup per half second instead of one per request; when it
/// expires under load, the requests that find it stale share one lookup (``ExpiringCache``'s
/// single flight).
///
/// Keys the database does not know are remembered apart, as unknown, for longer (a few seconds)
/// and in a bounded space of their own: a flood of made-up keys costs one lookup per key per
/// `unknownTimeToLive` rather than one per request, and can neither grow memory without bound nor
/// push the known keys out. A key minted by this process is forgotten at once (``forget(_:)``),
/// and a lookup under way when it was minted is not remembered — so the cache never makes a new
/// team's key fail. (Another process cannot have cached a new key as unknown: that would take
/// presenting the key before it was minted, i.e. guessing 32 random characters.)
final class KeyCache: Sendable {
    static let timeToLive: Duration = .milliseconds(500)
    static let unknownTimeToLive: Duration = .seconds(5)
    private let entries: ExpiringCache<[UInt8], TeamIdentity>

    /// `knownFor` and `unknownFor` are how long a key's team, or its absence, is kept
    /// (``timeToLive``, ``unknownTimeToLive``; tests lengthen them so that a slow machine does not
    /// expire what they look at).
    init(
        capacity: Int = 100_000,
        unknownCapacity: Int = 100_000,
        knownFor: Duration = KeyCache.timeToLive,
        unknownFor: Duration = KeyCache.unknownTimeToLive
    ) {
        entries = ExpiringCache(timeToLive: knownFor, capacity: capacity, missTimeToLive: unknownFor, missCapacity: unknownCapacity)
    }

    /// The cached answer for a hash: `.some(nil)` is a cached "no such key".
    func lookup(_ hash: [UInt8]) -> TeamIdentity?? {
        entries.cached(hash)
    }

    /// A key this process just minted: whatever was remembered about its hash is dropped, and a
    /// lookup under way (which may have read before the key existed) is not remembered.
    func forget(_ hash: [UInt8]) {
        entries.remove(hash)
    }

    /// The cached identity, or the result of `load` — one `load` per hash at a time.
    func identity(for hash: [UInt8], load: @escaping @Sendable () async throws -> TeamIdentity?) async throws -> TeamIdentity? {
        try await entries.valueIfPresent(for: hash, load: load)
    }
}
