import Metrics
import Telemetry

/// `saas_worker_slots{state}`: how many of this worker's slots run a job (`busy`) and how many
/// could take one (`free`). Set by ``InFlight`` wherever its count or its capacity changes, under
/// its lock, so two changes never land in the other order.
final class SlotGauges: Sendable {
    private let busy: Gauge
    private let free: Gauge

    init(factory: any MetricsFactory = MetricsSystem.factory) {
        busy = Gauge(label: MetricName.workerSlots, dimensions: [(MetricLabel.state, MetricLabel.busy)], factory: factory)
        free = Gauge(label: MetricName.workerSlots, dimensions: [(MetricLabel.state, MetricLabel.free)], factory: factory)
    }

    /// `running` jobs out of `capacity` slots (a lowered capacity can leave more running than it).
    func record(running: Int, capacity: Int) {
        busy.record(running)
        free.record(max(0, capacity - running))
    }
}
