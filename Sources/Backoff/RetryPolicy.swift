/// How long to wait before trying again, and how often to try: exponential backoff from `base`,
/// capped at `cap`, over at most `maxAttempts` attempts. One type for every retry loop (a
/// transaction PostgreSQL rolled back, a settlement, a job's upstream call, a failed claim), so
/// that each loop states its numbers and none re-derives the arithmetic.
///
/// A pure value: the randomness comes in as a generator, so tests can pin it.
public struct RetryPolicy: Sendable, Hashable {
    public enum Jitter: Sendable, Hashable {
        /// Uniform in [`floor`, ceiling]: contenders that failed together fall out of step
        /// (AWS's "full jitter").
        case full
        /// Exactly the ceiling: one caller alone, with nobody to fall out of step with.
        case none
    }

    /// The ceiling after the first failed attempt; it doubles with each further one.
    public var base: Duration
    /// The ceiling never grows past this.
    public var cap: Duration
    /// Attempts in all, the first included: after attempt `maxAttempts` there is no retry.
    public var maxAttempts: Int
    public var jitter: Jitter
    /// The least wait under full jitter (a wait of zero would retry in the same instant).
    public var floor: Duration

    public init(base: Duration, cap: Duration, maxAttempts: Int, jitter: Jitter = .full, floor: Duration = .zero) {
        self.base = base
        self.cap = cap
        self.maxAttempts = maxAttempts
        self.jitter = jitter
        self.floor = floor
    }

    /// Whether attempt `attempt` (1-based) may be followed by another.
    public func allowsRetry(after attempt: Int) -> Bool {
        attempt < maxAttempts
    }

    /// The longest wait after attempt `attempt` (1-based) failed: `min(cap, base·2^(attempt−1))`,
    /// never under `floor`.
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        var ceiling = base
        // Doubling stops at the cap, so a large attempt number cannot overflow.
        for _ in 0..<min(max(0, attempt - 1), 128) where ceiling < cap {
            ceiling *= 2
        }
        return max(floor, min(ceiling, cap))
    }

    /// The wait after attempt `attempt` (1-based) failed.
    public func delay(afterAttempt attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, using: &generator)
    }

    /// The wait after attempt `attempt` (1-based) failed, drawing the jitter from `generator`.
    public func delay<Generator: RandomNumberGenerator>(afterAttempt attempt: Int, using generator: inout Generator) -> Duration {
        let ceiling = ceiling(afterAttempt: attempt)
        switch jitter {
        case .none:
            return ceiling
        case .full:
            let high = Self.nanoseconds(max(.zero, ceiling))
            let low = min(high, Self.nanoseconds(max(.zero, floor)))
            return .nanoseconds(Int64.random(in: low...high, using: &generator))
        }
    }

    /// Whole nanoseconds, rounded down, saturating (a cap of centuries is as good as forever).
    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        guard seconds < Int64.max / 1_000_000_000 else { return .max }
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
