import Backoff
import DocumentFixtures
import Foundation
import Shared
import Testing

@testable import Worker

@Suite("RetryPolicy: one backoff for every retry loop")
struct RetryPolicyTests {
    @Test("the ceiling doubles from base after each attempt and stops at the cap")
    func ceilings() {
        let policy = RetryPolicy(base: .seconds(1), cap: .seconds(60), maxAttempts: 10)
        let ceilings = (1...9).map { policy.ceiling(afterAttempt: $0) }
        #expect(ceilings == [1, 2, 4, 8, 16, 32, 60, 60, 60].map { Duration.seconds($0) })
        // Attempt numbers that would overflow 2^n, and nonsense ones, stay within [base, cap].
        #expect(policy.ceiling(afterAttempt: 10_000) == .seconds(60))
        #expect(policy.ceiling(afterAttempt: .max) == .seconds(60))
        #expect(policy.ceiling(afterAttempt: 0) == .seconds(1))
        #expect(policy.ceiling(afterAttempt: -3) == .seconds(1))
        // A cap under the base is the ceiling from the start.
        #expect(RetryPolicy(base: .seconds(5), cap: .seconds(2), maxAttempts: 3).ceiling(afterAttempt: 1) == .seconds(2))
    }

    @Test("full jitter stays in [0, min(cap, base·2^(n−1))] and spreads over it", arguments: [1, 2, 3, 5, 8, 30])
    func fullJitterBounds(attempt: Int) {
        let policy = RetryPolicy(base: .milliseconds(100), cap: .seconds(3), maxAttempts: 10)
        let ceiling = policy.ceiling(afterAttempt: attempt)
        #expect(ceiling == min(.seconds(3), .milliseconds(100) * (1 << (attempt - 1))))
        var generator = SplitMix64(seed: UInt64(attempt))
        let delays = (0..<2000).map { _ in policy.delay(afterAttempt: attempt, using: &generator) }
        #expect(delays.allSatisfy { $0 >= .zero && $0 <= ceiling })
        // Uniform over the range: some draws in its lowest and in its highest tenth.
        #expect(delays.contains { $0 < ceiling / 10 })
        #expect(delays.contains { $0 > ceiling * 9 / 10 })
    }

    @Test("the randomness is injectable: the same seed draws the same delays")
    func injectableRandomness() {
        let policy = RetryPolicy(base: .seconds(1), cap: .seconds(60), maxAttempts: 5)
        var first = SplitMix64(seed: 42)
        var second = SplitMix64(seed: 42)
        let a = (1...5).map { policy.delay(afterAttempt: $0, using: &first) }
        let b = (1...5).map { policy.delay(afterAttempt: $0, using: &second) }
        #expect(a == b)
        // The system generator draws within the same bounds.
        #expect((1...5).allSatisfy { policy.delay(afterAttempt: $0) <= policy.ceiling(afterAttempt: $0) })
    }

    @Test("a floor is the least wait under full jitter")
    func floor() {
        let policy = RetryPolicy(base: .milliseconds(4), cap: .milliseconds(64), maxAttempts: 5, floor: .microseconds(500))
        var generator = SplitMix64(seed: 7)
        for attempt in 1...4 {
            for _ in 0..<500 {
                let delay = policy.delay(afterAttempt: attempt, using: &generator)
                #expect(delay >= .microseconds(500) && delay <= policy.ceiling(afterAttempt: attempt))
            }
        }
        // A floor above the ceiling wins: never a zero wait.
        let tiny = RetryPolicy(base: .zero, cap: .zero, maxAttempts: 2, floor: .milliseconds(1))
        #expect(tiny.delay(afterAttempt: 1) == .milliseconds(1))
    }

    @Test("without jitter the wait is exactly the ceiling")
    func noJitter() {
        let policy = RetryPolicy(base: .milliseconds(200), cap: .seconds(5), maxAttempts: 8, jitter: .none)
        #expect((1...8).map { policy.delay(afterAttempt: $0) } == [200, 400, 800, 1600, 3200, 5000, 5000, 5000].map { Duration.milliseconds($0) })
    }

    @Test("attempts: the first counts; after attempt maxAttempts there is no retry")
    func attempts() {
        let policy = RetryPolicy(base: .seconds(1), cap: .seconds(1), maxAttempts: 3)
        #expect(policy.allowsRetry(after: 1))
        #expect(policy.allowsRetry(after: 2))
        #expect(!policy.allowsRetry(after: 3))
        #expect(!policy.allowsRetry(after: 4))
        #expect(!RetryPolicy(base: .seconds(1), cap: .seconds(1), maxAttempts: 1).allowsRetry(after: 1))
    }

    @Test("each retry loop keeps its numbers: jobs (configuration), settlements (200 ms → 5 s, 8 attempts)")
    func sites() {
        let job = JobRunner.Policy(
            maxAttempts: 4,
            retryBase: .milliseconds(1500),
            retryCap: .seconds(20),
            defaultMaxTokens: 100,
            defaultContextTokens: 1000,
            documentConcurrency: 2
        ).retry
        #expect(job == RetryPolicy(base: .milliseconds(1500), cap: .seconds(20), maxAttempts: 4, jitter: .full, floor: .zero))
        #expect(Settler.retry == RetryPolicy(base: .milliseconds(200), cap: .seconds(5), maxAttempts: 8, jitter: .none))
    }
}
