public import Foundation
import Synchronization

/// Notices the database's clock stepping back between two sweeps of this process, by holding it
/// to this process's monotonic clock.
///
/// The sweeper's watermark is a database time: a pass reads the queued jobs changed since it.
/// After the server's clock is set back, rows written since carry times under the watermark, and
/// no incremental pass reads them again. A watermark ahead of the clock shows a large step, but
/// not one the clock has already made up by the next pass: stepped back 12 s a second after a pass
/// (watermark = that pass's time less 6 s), the next pass, 10 s later, finds the clock 3 s past the
/// watermark while the rows written in the first seconds after the step lie under it. Here the
/// step shows whatever its size: the database's clock advanced 10 − 12 s while 10 s surely passed.
///
/// A reading is the database's `now()` and the monotonic instants just before the statement was
/// sent and just after its answer came, so the time that surely passed between two readings is
/// from the first answer to the second sending — a slow answer never looks like a step.
public final class ClockStepWatch: Sendable {
    public struct Reading: Sendable {
        public var database: Date
        public var sent: ContinuousClock.Instant
        public var answered: ContinuousClock.Instant

        public init(database: Date, sent: ContinuousClock.Instant, answered: ContinuousClock.Instant) {
            self.database = database
            self.sent = sent
            self.answered = answered
        }
    }

    /// How much less than the surely passed time the database's clock may advance without being
    /// called a step: `now()`'s granularity stays far under it, and a step shorter than the
    /// sweep's watermark margin loses nothing.
    public let tolerance: Duration
    /// And this much more per second between the readings: NTP may slew each clock by up to
    /// 500 ppm, the two in opposite directions, 3.6 s over the hour between two passes of a process
    /// that seldom wins the sweeper lock — not a step, and a full re-enqueue costs the backlog.
    public let drift: Double
    /// The most the two allow together: the watermark margin (5 s), under which a step loses
    /// nothing. Past it a longer gap's slew may cost one needless full pass; a larger allowance
    /// would miss a step that loses jobs.
    public let ceiling: Duration
    /// The last reading, and whether a step still waits for a full pass: a pass that saw one and
    /// then failed (Redis away) must not let the next, which compares with the reading after the
    /// step, forget it.
    private let state = Mutex<(last: Reading?, unswept: Bool)>((nil, false))

    public init(tolerance: Duration = .seconds(1), drift: Double = 0.001, ceiling: Duration = .seconds(5)) {
        self.tolerance = tolerance
        self.drift = drift
        self.ceiling = ceiling
    }

    /// Records `reading`, and says whether the database's clock went back since the last one —
    /// it advanced less than the time that surely passed here, by more than ``tolerance`` and the
    /// ``drift`` over that time (at most ``ceiling``) — or went back earlier and no full pass has
    /// covered it since (``swept()``). A process's first reading has nothing to compare with.
    public func steppedBack(_ reading: Reading) -> Bool {
        state.withLock { state in
            defer { state.last = reading }
            guard let previous = state.last else { return state.unswept }
            let surelyPassed = Self.seconds(reading.sent - previous.answered)
            let databasePassed = reading.database.timeIntervalSince(previous.database)
            let allowance = min(Self.seconds(tolerance) + drift * max(0, surelyPassed), Self.seconds(ceiling))
            if databasePassed < surelyPassed - allowance { state.unswept = true }
            return state.unswept
        }
    }

    /// Records a step seen another way (the watermark ahead of the clock), owed like one seen here.
    public func owe() {
        state.withLock { $0.unswept = true }
    }

    /// A full pass that began after the last reading completed: the steps seen so far are covered.
    public func swept() {
        state.withLock { $0.unswept = false }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
