public import Prometheus

/// A registry as Prometheus' text exposition format, for the API's `/metrics` and the worker's.
public enum MetricsExposition {
    /// The content type of the text format Prometheus scrapes.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every series of `registry`, in the text format.
    public static func body(of registry: PrometheusCollectorRegistry) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }
}
