import Synchronization

/// What each client of a counted run keeps for itself while measuring; the run merges the
/// clients' tallies into one at the end, so nothing is shared or locked on the measured path.
protocol LoadTally: Sendable {
    init()
    mutating func merge(_ other: Self)
}

extension LoadRunner {
    private final class Counter: Sendable {
        let next = Atomic<Int>(0)
    }

    /// Runs exactly `total` operations over `clients` concurrent tasks, each starting its next
    /// operation as soon as its last one ended, and returns the merged tallies.
    ///
    /// Unlike the timed run, an operation does not throw: it records its own failures in its
    /// tally (a failed request may still have had its effect, so it is counted, never retried).
    static func run<Tally: LoadTally>(
        clients: Int,
        total: Int,
        operation: @escaping @Sendable (_ index: Int, _ tally: inout Tally) async -> Void
    ) async -> Tally {
        let counter = Counter()
        return await withTaskGroup(of: Tally.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var tally = Tally()
                    while true {
                        let index = counter.next.add(1, ordering: .relaxed).oldValue
                        guard index < total else { break }
                        await operation(index, &tally)
                    }
                    return tally
                }
            }
            var merged = Tally()
            for await tally in group { merged.merge(tally) }
            return merged
        }
    }
}
