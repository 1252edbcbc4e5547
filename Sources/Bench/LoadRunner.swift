import DocumentFixtures
import Synchronization

/// What one measurement produced: operations completed inside the measured window, and how long
/// that window really was.
struct LoadResult: Sendable {
    var ops: Int
    var seconds: Double
    var opsPerSecond: Double { seconds > 0 ? Double(ops) / seconds : 0 }
}

/// Runs `clients` concurrent tasks, each calling `operation` in a loop until told to stop, and
/// counts the operations completed during the measured window (after a warm-up).
///
/// `operation` returns how many operations one call did (a pipeline of 100 commands is 100), so
/// the count matches what `redis-benchmark` and `pgbench` count. The first error stops every client
/// and is rethrown. The run is bounded: clients stop at the end of the window, and one call that
/// hangs is bounded by the layer's own timeouts.
enum LoadRunner {
    private final class Shared: Sendable {
        let ops = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
    }

    static func run(
        clients: Int,
        warmup: Double,
        seconds: Double,
        operation: @escaping @Sendable (_ random: inout FastRandom) async throws -> Int
    ) async throws -> LoadResult {
        let shared = Shared()
        let clock = ContinuousClock()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var random = FastRandom(seed: UInt64(client) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
                    do {
                        while !shared.stop.load(ordering: .relaxed) {
                            let done = try await operation(&random)
                            shared.ops.add(done, ordering: .relaxed)
                        }
                    } catch {
                        shared.stop.store(true, ordering: .relaxed)
                        throw error
                    }
                }
            }
            if warmup > 0 { try? await Task.sleep(for: .seconds(warmup)) }
            let startOps = shared.ops.load(ordering: .relaxed)
            let start = clock.now
            try? await Task.sleep(for: .seconds(seconds))
            let endOps = shared.ops.load(ordering: .relaxed)
            let elapsed = start.duration(to: clock.now)
            shared.stop.store(true, ordering: .relaxed)
            try await group.waitForAll()
            let measured = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return LoadResult(ops: endOps - startOps, seconds: measured)
        }
    }
}

/// A cheap per-client generator for keys (``SplitMix64``: no system call per number).
typealias FastRandom = SplitMix64
