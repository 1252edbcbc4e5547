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
    /// called a step: NTP's slewing (at most 500 ppm) and `now()`'s granularity stay far under it,
    /// and a step shorter than the sweep's watermark margin loses nothing.
    public let tolerance: Duration
    private let last = Mutex<Reading?>(nil)

    public init(tolerance: Duration = .seconds(1)) {
        self.tolerance = tolerance
    }

    /// Records `reading`, and says whether the database's clock went back since the last one: it
    /// advanced less than the time that surely passed here, by more than ``tolerance``.
    public func steppedBack(_ reading: Reading) -> Bool {
        let previous = last.withLock { last in
            defer { last = reading }
            return last
        }
        guard let previous else { return false }
        let surelyPassed = reading.sent - previous.answered
        let databasePassed = reading.database.timeIntervalSince(previous.database)
        return databasePassed < Self.seconds(surelyPassed) - Self.seconds(tolerance)
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
