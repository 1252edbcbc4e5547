import Synchronization

/// Metric handles made once per label set and kept: `Counter(label:dimensions:)` asks the
/// backend's registry each time (a lock, a lookup by name and by labels, arrays of tuples built),
/// which a hot path should pay once, not per event. Keys must be bounded — route templates,
/// statuses, `TeamLabels`' values —, never ids or text from outside.
///
/// Make the cache after `MetricsBootstrap` ran (in a component's initializer, not as a static):
/// a handle made before is bound to swift-metrics' no-op backend for good.
public final class MetricCache<Key: Hashable & Sendable, Metric: Sendable>: Sendable {
    private let metrics = Mutex<[Key: Metric]>([:])
    private let make: @Sendable (Key) -> Metric

    /// `make` builds the handle of a key the first time it is asked for.
    public init(_ make: @escaping @Sendable (Key) -> Metric) {
        self.make = make
    }

    public subscript(_ key: Key) -> Metric {
        metrics.withLock { metrics in
            if let metric = metrics[key] { return metric }
            let metric = make(key)
            metrics[key] = metric
            return metric
        }
    }
}
