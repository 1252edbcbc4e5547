import Metrics
import Shared
import Telemetry

/// `saas_provider_circuit_state{provider}`: 0 closed, 1 half-open, 2 open, as this worker's
/// ``ProviderHealth`` sees each provider. Set only when a circuit changes state. Provider names
/// come from the admins' configuration; they are cut to ``UpstreamLabels/maxLength`` characters,
/// and past `limit` providers the rest share `other`.
final class CircuitGauges: Sendable {
    static let closed = 0
    static let halfOpen = 1
    static let open = 2

    private let gauges: MetricCache<String, Gauge>
    private let labels: UpstreamLabels

    init(factory: any MetricsFactory = MetricsSystem.factory, limit: Int = 256) {
        labels = UpstreamLabels(limit: limit)
        gauges = MetricCache { provider in
            Gauge(label: MetricName.providerCircuitState, dimensions: [(MetricLabel.provider, provider)], factory: factory)
        }
    }

    func record(provider: String, state: Int) {
        gauges[labels.labels(provider: provider, model: "").provider].record(state)
    }
}
