/// Latencies counted per microsecond: exact percentiles without keeping every sample in order.
///
/// Each client keeps one of its own while measuring (no lock, no sharing) and the run merges them
/// at the end. A percentile is the sample at rank `min(count - 1, ⌊p × count⌋)` of the sorted
/// samples, the definition the python client this replaced used, so its figures stay comparable.
struct LatencyHistogram: Sendable {
    private var counts: [Int: Int] = [:]  // microseconds → samples
    private(set) var count = 0

    mutating func record(_ latency: Duration) {
        let (seconds, attoseconds) = latency.components
        let microseconds = Int(seconds) * 1_000_000 + Int(attoseconds / 1_000_000_000_000)
        counts[max(0, microseconds), default: 0] += 1
        count += 1
    }

    mutating func merge(_ other: LatencyHistogram) {
        counts.merge(other.counts, uniquingKeysWith: +)
        count += other.count
    }

    /// The latency at fraction `p` (0…1) of the samples, in milliseconds; nil when there are none.
    func percentileMilliseconds(_ p: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = min(count - 1, Int(p * Double(count)))
        var seen = 0
        for microseconds in counts.keys.sorted() {
            seen += counts[microseconds]!
            if seen > rank { return Double(microseconds) / 1000 }
        }
        return nil  // unreachable: the counts add up to `count`
    }
}
