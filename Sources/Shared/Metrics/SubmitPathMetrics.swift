public import Metrics
import Telemetry

/// How submit batches reached PostgreSQL, once each commits or aborts:
/// `saas_submit_batches_total{path}` — `one_trip` (committed in one round trip), `locking`
/// (read → plan → write: no hints for a team, an Idempotency-Key, a team near its end, or after a
/// miss) and `one_trip_missed` (a one-round-trip attempt aborted with nothing written; its batch
/// then counts under `locking` too). A miss costs a round trip and the inserts it rolled back, so
/// a miss rate that stays high says hints go stale faster than they are refreshed: teams near
/// the end of their credits, or many API processes submitting for one team.
public final class SubmitPathMetrics: Sendable {
    public enum Path: Sendable, CaseIterable {
        case oneTrip, locking, oneTripMissed

        var label: String {
            switch self {
            case .oneTrip: MetricLabel.oneTrip
            case .locking: MetricLabel.locking
            case .oneTripMissed: MetricLabel.oneTripMissed
            }
        }
    }

    private let counters: [Path: Counter]

    /// Make it after `MetricsBootstrap` ran (`factory` is read here): one made before counts into
    /// swift-metrics' no-op backend.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        var counters: [Path: Counter] = [:]
        for path in Path.allCases {
            counters[path] = Counter(label: MetricName.submitBatches, dimensions: [(MetricLabel.path, path.label)], factory: factory)
        }
        self.counters = counters
    }

    func record(_ path: Path) {
        counters[path]?.increment()
    }
}
