import Testing

/// Every end-to-end test shares one database, one queue and its workers, so they run one at a
/// time (other suites run beside them on their own databases).
@Suite("End to end: API, workers and mock upstream as real processes", .serialized)
struct EndToEnd {}
