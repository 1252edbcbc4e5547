import Synchronization

/// The `provider` and `model` labels of the upstream metrics, bounded. Their values come from the
/// admins' configuration, so they are few; still, a misconfiguration (or a script creating
/// providers in a loop) must not grow a scrape without end: each value is cut to
/// ``maxLength`` characters, and past ``limit`` distinct pairs the rest count as `other`.
final class UpstreamLabels: Sendable {
    struct Pair: Hashable, Sendable {
        var provider: String
        var model: String
    }

    static let maxLength = 64
    static let other = Pair(provider: "other", model: "other")

    private let limit: Int
    private let known = Mutex<Set<Pair>>([])

    init(limit: Int = 256) {
        self.limit = max(0, limit)
    }

    /// The labels of one provider's model.
    func labels(provider: String, model: String) -> Pair {
        let pair = Pair(provider: String(provider.prefix(Self.maxLength)), model: String(model.prefix(Self.maxLength)))
        return known.withLock { known in
            if known.contains(pair) { return pair }
            guard known.count < limit else { return Self.other }
            known.insert(pair)
            return pair
        }
    }
}
