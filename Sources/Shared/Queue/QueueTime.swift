public import Foundation

extension Date {
    /// Milliseconds since 1970, the queue's unit of time: the Lua scripts compare them with
    /// Redis's `TIME`, the in-memory driver with its clock, and the sweeper's SQL with the
    /// heartbeats the registry keeps. One conversion for all, so the three never disagree.
    public var queueMilliseconds: Int {
        Int((timeIntervalSince1970 * 1000).rounded(.down))
    }
}

extension Date {
    /// The date of a queue time (``queueMilliseconds``).
    public init(queueMilliseconds milliseconds: Int) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
