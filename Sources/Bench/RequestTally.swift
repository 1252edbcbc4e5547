/// What a client of `saas-bench jobs` counts: answers by status, failed requests, latencies, and
/// the wall-clock moments of the first request sent and the last answer received (epoch seconds,
/// to compare with PostgreSQL's timestamps).
struct RequestTally: LoadTally {
    var statuses: [Int: Int] = [:]
    var errors = 0
    var firstError: String?
    var latencies = LatencyHistogram()
    var firstSend: Double?
    var lastAnswer: Double?

    mutating func sent(at wall: Double) {
        if firstSend.map({ wall < $0 }) ?? true { firstSend = wall }
    }

    mutating func answered(status: Int, latency: Duration, at wall: Double) {
        statuses[status, default: 0] += 1
        latencies.record(latency)
        if lastAnswer.map({ wall > $0 }) ?? true { lastAnswer = wall }
    }

    mutating func failed(_ error: any Error) {
        errors += 1
        if firstError == nil { firstError = String(describing: error) }
    }

    mutating func merge(_ other: RequestTally) {
        statuses.merge(other.statuses, uniquingKeysWith: +)
        errors += other.errors
        if firstError == nil { firstError = other.firstError }
        latencies.merge(other.latencies)
        if let wall = other.firstSend { sent(at: wall) }
        if let wall = other.lastAnswer, lastAnswer.map({ wall > $0 }) ?? true { lastAnswer = wall }
    }

    /// Answers with a 2xx status.
    var succeeded: Int {
        statuses.reduce(0) { (200..<300).contains($1.key) ? $0 + $1.value : $0 }
    }
}
