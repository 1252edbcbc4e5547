import Synchronization

/// Counters of the requests the mock answered (the `/_mock/…` control routes excepted).
///
/// `max_in_flight` is what makes the mock useful as a probe: with a fixed latency, the highest
/// number of calls held at once is the concurrency the client really achieved (a worker configured
/// for 1,000 concurrent calls but stuck at 8 connections per host shows 8 here).
final class CallStats: Sendable {
    struct Snapshot: Sendable, Equatable {
        var total = 0
        var byStatus: [Int: Int] = [:]
        var byPath: [String: Int] = [:]
        var inFlight = 0
        var maxInFlight = 0
    }

    private let state = Mutex(Snapshot())

    /// A request arrived.
    func begin() {
        self.state.withLock { state in
            state.inFlight += 1
            if state.inFlight > state.maxInFlight { state.maxInFlight = state.inFlight }
        }
    }

    /// A request was answered (or abandoned) with `status`.
    ///
    /// - Parameter path: the route's pattern, not the raw path, so the counters stay few.
    func end(path: String, status: Int) {
        self.state.withLock { state in
            state.inFlight -= 1
            state.total += 1
            state.byStatus[status, default: 0] += 1
            state.byPath[path, default: 0] += 1
        }
    }

    var snapshot: Snapshot {
        self.state.withLock { $0 }
    }

    /// Zeroes the counters; the requests in flight stay counted (they will end), and become the new
    /// maximum.
    func reset() {
        self.state.withLock { state in
            state = Snapshot(inFlight: state.inFlight, maxInFlight: state.inFlight)
        }
    }
}
