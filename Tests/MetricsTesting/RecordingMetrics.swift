public import CoreMetrics
import Synchronization

/// A `MetricsFactory` that keeps what is recorded, for the test targets (SharedTests,
/// WorkerTests): swift-metrics' bootstrap is once per process, so the components under test take
/// this factory instead of the global one.
public final class RecordingMetrics: MetricsFactory, Sendable {
    /// One series: a name and its labels, sorted.
    public struct Series: Hashable, CustomStringConvertible {
        public var label: String
        public var dimensions: [String]

        public init(_ label: String, _ dimensions: [(String, String)]) {
            self.label = label
            self.dimensions = dimensions.map { "\($0.0)=\($0.1)" }.sorted()
        }

        public var description: String { "\(label){\(dimensions.joined(separator: ","))}" }
    }

    public final class Handler: CounterHandler, FloatingPointCounterHandler, RecorderHandler, MeterHandler, TimerHandler, Sendable {
        private let state = Mutex<(total: Double, values: [Double])>((0, []))

        public var total: Double { state.withLock { $0.total } }
        /// Every value recorded or set, in order (a gauge's last is its value).
        public var values: [Double] { state.withLock { $0.values } }

        public func increment(by amount: Int64) { increment(by: Double(amount)) }
        public func increment(by amount: Double) { state.withLock { $0.total += amount } }
        public func reset() { state.withLock { $0 = (0, []) } }
        public func record(_ value: Int64) { record(Double(value)) }
        public func record(_ value: Double) { state.withLock { $0.values.append(value) } }
        public func set(_ value: Int64) { record(value) }
        public func set(_ value: Double) { record(value) }
        public func decrement(by amount: Double) { state.withLock { $0.total -= amount } }
        public func recordNanoseconds(_ duration: Int64) { record(Double(duration) / 1e9) }
    }

    private let handlers = Mutex<[Series: Handler]>([:])

    public init() {}

    private func handler(_ label: String, _ dimensions: [(String, String)]) -> Handler {
        handlers.withLock { handlers in
            let series = Series(label, dimensions)
            if let handler = handlers[series] { return handler }
            let handler = Handler()
            handlers[series] = handler
            return handler
        }
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { handler(label, dimensions) }
    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        handler(label, dimensions)
    }
    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { handler(label, dimensions) }
    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        handler(label, dimensions)
    }
    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { handler(label, dimensions) }
    public func destroyCounter(_ handler: any CounterHandler) {}
    public func destroyMeter(_ handler: any MeterHandler) {}
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    public func destroyTimer(_ handler: any TimerHandler) {}

    /// A counter's total (0 when never made).
    public func total(_ label: String, _ dimensions: [(String, String)] = []) -> Double {
        handlers.withLock { $0[Series(label, dimensions)]?.total ?? 0 }
    }

    /// Every value a recorder, gauge or timer got.
    public func values(_ label: String, _ dimensions: [(String, String)] = []) -> [Double] {
        handlers.withLock { $0[Series(label, dimensions)]?.values ?? [] }
    }

    /// A gauge's value (nil when never set).
    public func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> Double? {
        values(label, dimensions).last
    }

    /// The series recorded under `label`.
    public func series(_ label: String) -> [Series] {
        handlers.withLock { $0.keys.filter { $0.label == label } }
    }
}
