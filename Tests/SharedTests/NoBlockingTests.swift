import DedicatedThreads
import Foundation
import Postgres
import Redis
import Testing

@testable import Shared

@Suite("Blocking C calls stay off the cooperative pool")
struct NoBlockingTests {
    @Test("200 concurrent tasks through both layers while a ticker on the cooperative pool keeps ticking")
    func tickerKeepsTicking() async throws {
        let redis = try TestEnvironment.redis(poolSize: 4)
        let postgres = TestEnvironment.postgres(poolSize: 4)
        defer {
            redis.shutdown()
            postgres.shutdown()
        }
        let key = TestEnvironment.uniqueKey()

        let ticker = Task { () -> Duration in
            var worstGap = Duration.zero
            var last = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(10))
                let now = ContinuousClock.now
                worstGap = max(worstGap, now - last)
                last = now
            }
            return worstGap
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    if i.isMultiple(of: 2) {
                        // Each of these waits 50 ms for the server (on the reactor, not a thread).
                        try await postgres.query("SELECT pg_sleep(0.05)")
                    } else {
                        // BLPOP waits 0.1 s server-side, holding a pooled connection's thread.
                        try await redis.send("BLPOP", RedisArgument("\(key):\(i)"), "0.1")
                    }
                }
            }
            try await group.waitForAll()
        }
        ticker.cancel()
        let worstGap = await ticker.value
        // A stall, not a timing: with two cooperative threads, one blocked call per thread
        // would stop the ticker for the seconds these calls take in all (about 7.5 s); a loaded
        // CI machine's scheduling gaps stay near 1 s.
        #expect(worstGap < .milliseconds(2500), "the cooperative pool stalled for \(worstGap)")
    }

    @Test("the blocking wrappers know their own thread")
    func threadOwnership() async throws {
        let thread = DedicatedThread(name: "ownership-test")
        defer { thread.stop() }
        #expect(!thread.isCurrent)
        let onItsThread = try await thread.run { [thread] in thread.isCurrent }
        #expect(onItsThread)
    }
}
