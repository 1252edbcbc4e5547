import Backoff
import Testing

@testable import Worker

/// When a failed webhook delivery is tried again: exponential from the base with jitter, never
/// under the base, capped at an hour, and not past the retry window.
@Suite("Webhook delivery schedule")
struct DeliveryScheduleTests {
    /// A generator that always draws the same word, so a jittered delay is pinned.
    struct Fixed: RandomNumberGenerator {
        var word: UInt64
        mutating func next() -> UInt64 { word }
    }

    @Test("the defaults: 5 s base, an hour's cap, 24 h window")
    func defaults() {
        let schedule = DeliverySchedule()
        #expect(schedule.policy.base == .seconds(5))
        #expect(schedule.policy.cap == .seconds(3600))
        #expect(schedule.window == .seconds(86_400))
    }

    @Test("delays lie between the base and the doubling ceiling, which stops at the cap")
    func bounds() {
        let schedule = DeliverySchedule(base: .seconds(5), cap: .seconds(3600), window: .seconds(86_400))
        var generator = SystemRandomNumberGenerator()
        for attempt in 1...40 {
            let ceiling = min(Duration.seconds(3600), .seconds(5) * (1 << min(attempt - 1, 20)))
            for _ in 0..<20 {
                guard case .retry(let delay) = schedule.next(afterAttempt: attempt, age: .seconds(1), using: &generator) else {
                    Issue.record("attempt \(attempt) gave up inside the window")
                    return
                }
                #expect(delay >= .seconds(5) && delay <= ceiling, "attempt \(attempt): \(delay)")
            }
        }
    }

    @Test("the jitter spreads deliveries that failed together")
    func jitter() {
        let schedule = DeliverySchedule(base: .seconds(5))
        var generator = SystemRandomNumberGenerator()
        var delays: Set<Duration> = []
        for _ in 0..<20 {
            if case .retry(let delay) = schedule.next(afterAttempt: 6, age: .zero, using: &generator) { delays.insert(delay) }
        }
        #expect(delays.count > 10)
    }

    @Test("the last retry falls at the window's end; past it the delivery gives up")
    func window() {
        let schedule = DeliverySchedule(base: .seconds(5), window: .seconds(86_400))
        var high = Fixed(word: .max)
        // An hour's delay would pass the window: the retry is at its end instead.
        #expect(schedule.next(afterAttempt: 30, age: .seconds(86_400 - 60), using: &high) == .retry(after: .seconds(60)))
        #expect(schedule.next(afterAttempt: 31, age: .seconds(86_400)) == .giveUp)
        #expect(schedule.next(afterAttempt: 2, age: .seconds(90_000)) == .giveUp)
    }

    @Test("a short configured base and window, as the tests use")
    func short() {
        let schedule = DeliverySchedule(base: .milliseconds(20), window: .seconds(2))
        var generator = SystemRandomNumberGenerator()
        guard case .retry(let first) = schedule.next(afterAttempt: 1, age: .zero, using: &generator) else {
            Issue.record("no retry")
            return
        }
        #expect(first >= .milliseconds(20) && first <= .milliseconds(20))
        #expect(schedule.next(afterAttempt: 3, age: .seconds(3)) == .giveUp)
    }

    @Test("a huge attempt number neither overflows nor passes the cap")
    func hugeAttempt() {
        let schedule = DeliverySchedule(base: .seconds(5), cap: .seconds(3600))
        var generator = SystemRandomNumberGenerator()
        guard case .retry(let delay) = schedule.next(afterAttempt: .max, age: .zero, using: &generator) else {
            Issue.record("no retry")
            return
        }
        #expect(delay <= .seconds(3600))
    }
}
