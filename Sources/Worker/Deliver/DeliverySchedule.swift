import Backoff

/// When a webhook delivery that failed is tried again: exponential backoff with jitter from a
/// base (5 s by default), capped at an hour, for as long as the retry window (24 h from the
/// event) lasts. The last attempt falls at the window's end, not an hour short of it.
///
/// A pure value; the randomness comes in as a generator, so tests can pin it.
struct DeliverySchedule: Sendable, Hashable {
    enum Next: Sendable, Hashable {
        case retry(after: Duration)
        /// The window is over: the delivery fails for good.
        case giveUp
    }

    /// The backoff: full jitter between `base` and the doubling ceiling, so that deliveries
    /// that failed together (a receiver down for everyone) come back spread out, never sooner than
    /// the base.
    let policy: RetryPolicy
    /// How long after its event a delivery is still tried.
    let window: Duration

    init(base: Duration = .seconds(5), cap: Duration = .seconds(3600), window: Duration = .seconds(86_400)) {
        policy = RetryPolicy(base: base, cap: max(base, cap), maxAttempts: .max, jitter: .full, floor: base)
        self.window = window
    }

    /// What follows attempt `attempt` (1-based) of a delivery whose event happened `age` ago.
    func next<Generator: RandomNumberGenerator>(afterAttempt attempt: Int, age: Duration, using generator: inout Generator) -> Next {
        guard age < window else { return .giveUp }
        return .retry(after: min(policy.delay(afterAttempt: attempt, using: &generator), window - age))
    }

    func next(afterAttempt attempt: Int, age: Duration) -> Next {
        var generator = SystemRandomNumberGenerator()
        return next(afterAttempt: attempt, age: age, using: &generator)
    }
}
