import Metrics
import Shared
import Telemetry

/// Where upstream calls finish (``UpstreamCaller``): `saas_upstream_requests_total{provider,model,status_class}`,
/// `saas_upstream_request_duration_seconds{provider,model}` and
/// `saas_upstream_tokens_total{provider,model,kind}` (`prompt`, `completion`). One instance per
/// worker: its handles are made once per label set.
final class UpstreamMetrics: Sendable {
    private struct Requests: Hashable, Sendable {
        var labels: UpstreamLabels.Pair
        var statusClass: UpstreamStatusClass
    }

    /// Handles of one provider's model.
    private struct Model: Sendable {
        var duration: Timer
        var promptTokens: Counter
        var completionTokens: Counter
    }

    static let prompt = "prompt"
    static let completion = "completion"

    private let labels: UpstreamLabels
    private let requests: MetricCache<Requests, Counter>
    private let models: MetricCache<UpstreamLabels.Pair, Model>

    init(factory: any MetricsFactory = MetricsSystem.factory, labels: UpstreamLabels = UpstreamLabels()) {
        self.labels = labels
        requests = MetricCache { key in
            Counter(
                label: MetricName.upstreamRequests,
                dimensions: [
                    (MetricLabel.provider, key.labels.provider), (MetricLabel.model, key.labels.model),
                    (MetricLabel.statusClass, key.statusClass.rawValue),
                ],
                factory: factory
            )
        }
        models = MetricCache { pair in
            let model = [(MetricLabel.provider, pair.provider), (MetricLabel.model, pair.model)]
            return Model(
                duration: Timer(label: MetricName.upstreamRequestDuration, dimensions: model, factory: factory),
                promptTokens: Counter(label: MetricName.upstreamTokens, dimensions: model + [(MetricLabel.kind, Self.prompt)], factory: factory),
                completionTokens: Counter(
                    label: MetricName.upstreamTokens,
                    dimensions: model + [(MetricLabel.kind, Self.completion)],
                    factory: factory
                )
            )
        }
    }

    /// One call to `model` at `provider` that took `duration` and ended as `result`; a successful
    /// call's tokens are counted too.
    func record(provider: String, model: String, duration: Duration, _ result: Result<UpstreamResponse, UpstreamFailure>) {
        let pair = labels.labels(provider: provider, model: model)
        requests[Requests(labels: pair, statusClass: UpstreamStatusClass(result))].increment()
        let handles = models[pair]
        handles.duration.record(duration: duration)
        if case .success(let response) = result {
            if response.usage.promptTokens > 0 { handles.promptTokens.increment(by: response.usage.promptTokens) }
            if response.usage.completionTokens > 0 { handles.completionTokens.increment(by: response.usage.completionTokens) }
        }
    }
}
