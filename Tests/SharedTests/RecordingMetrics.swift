import CoreMetrics
import Synchronization

/// A `MetricsFactory` that keeps what is recorded, for tests: swift-metrics' bootstrap is once per
/// process, so the components under test take this factory instead of the global one.
final class RecordingMetrics: MetricsFactory, Sendable {
    /// One series: a name and its labels, sorted.
    struct Series: Hashable, CustomStringConvertible {
        var label: String
        var dimensions: [String]

        init(_ label: String, _ dimensions: [(String, String)]) {
            self.label = label
            self.dimensions = dimensions.map { "\($0.0)=\($0.1)" }.sorted()
        }

        var description: String { "\(label){\(dimensions.joined(separator: ","))}" }
    }

    final class Handler: CounterHandler, FloatingPointCounterHandler, RecorderHandler, MeterHandler, TimerHandler, Sendable {
        private let state = Mutex<(total: Double, values: [Double])>((0, []))

        var total: Double { state.withLock { $0.total } }
        /// Every value recorded or set, in order (a gauge's last is its value).
        var values: [Double] { state.withLock { $0.values } }

        func increment(by amount: Int64) { increment(by: Double(amount)) }
        func increment(by amount: Double) { state.withLock { $0.total += amount } }
        func reset() { state.withLock { $0 = (0, []) } }
        func record(_ value: Int64) { record(Double(value)) }
        func record(_ value: Double) { state.withLock { $0.values.append(value) } }
        func set(_ value: Int64) { record(value) }
        func set(_ value: Double) { record(value) }
        func decrement(by amount: Double) { state.withLock { $0.total -= amount } }
        func recordNanoseconds(_ duration: Int64) { record(Double(duration) / 1e9) }
    }

    private let handlers = Mutex<[Series: Handler]>([:])

    private func handler(_ label: String, _ dimensions: [(String, String)]) -> Handler {
        handlers.withLock { handlers in
            let series = Series(label, dimensions)
            if let handler = handlers[series] { return handler }
            let handler = Handler()
            handlers[series] = handler
            return handler
        }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { handler(label, dimensions) }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        handler(label, dimensions)
    }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { handler(label, dimensions) }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        handler(label, dimensions)
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { handler(label, dimensions) }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    /// A counter's total (0 when never made).
    func total(_ label: String, _ dimensions: [(String, String)] = []) -> Double {
        handlers.withLock { $0[Series(label, dimensions)]?.total ?? 0 }
    }

    /// Every value a recorder, gauge or timer got.
    func values(_ label: String, _ dimensions: [(String, String)] = []) -> [Double] {
        handlers.withLock { $0[Series(label, dimensions)]?.values ?? [] }
    }

    /// A gauge's value (nil when never set).
    func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> Double? {
        values(label, dimensions).last
    }

    /// The series recorded under `label`.
    func series(_ label: String) -> [Series] {
        handlers.withLock { $0.keys.filter { $0.label == label } }
    }
}
