public import Metrics
public import Prometheus
import Synchronization
import Telemetry

/// swift-metrics with the Prometheus backend, set up the same way by the API and the worker
/// before they build anything that records (a handle made before the bootstrap stays a no-op).
///
/// swift-metrics allows one bootstrap per process, so this one is idempotent: the first call with
/// metrics enabled bootstraps and every later call — a test building a second application, say —
/// gets the same registry. With `METRICS_ENABLED=false` nothing is bootstrapped (swift-metrics'
/// no-op backend: recording costs a function call) and the answer is nil: `/metrics` then answers
/// 404.
public enum MetricsBootstrap {
    private static let registry = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Duration buckets, in seconds, for HTTP requests and upstream calls: 1 ms to 60 s.
    public static let durationBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
        .seconds(10), .seconds(30), .seconds(60),
    ]

    /// `saas_postgres_transaction_duration_seconds` buckets: 100 µs to 5 s. A pipelined
    /// transaction on a nearby server takes well under the 1 ms where the request buckets start,
    /// and how far under is what its lock hold time per batch is read from.
    public static let transactionBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
    ]

    /// `saas_settlement_batch_size` buckets: 1 to 1000 jobs per settlement transaction.
    public static let batchSizeBuckets: [Double] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]

    /// The process's registry, bootstrapping swift-metrics with it on the first call; nil when
    /// `configuration.metricsEnabled` is false. Also bounds ``TeamLabels/shared``.
    @discardableResult
    public static func prometheus(configuration: AppConfiguration) -> PrometheusCollectorRegistry? {
        TeamLabels.shared.limit = configuration.metricsMaxTeams
        guard configuration.metricsEnabled else { return nil }
        return registry.withLock { registry in
            if let registry { return registry }
            let made = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: made)
            factory.defaultDurationHistogramBuckets = durationBuckets
            factory.valueHistogramBuckets[MetricName.settlementBatchSize] = batchSizeBuckets
            factory.durationHistogramBuckets[MetricName.postgresTransactionDuration] = transactionBuckets
            MetricsSystem.bootstrap(factory)
            registry = made
            return made
        }
    }

    /// The registry if a previous ``prometheus(configuration:)`` bootstrapped one.
    public static var current: PrometheusCollectorRegistry? {
        registry.withLock { $0 }
    }
}
