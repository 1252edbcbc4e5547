/// What a client of `saas-bench streams` counts over its streams: how they ended, failures by
/// kind, deltas, and three latencies — the mock's stamp on the first delta to this client
/// receiving it (the relay's own delay: worker, Redis, API), the request sent to its first delta
/// (that plus submitting and queueing), and the request sent to its `event: done`.
struct StreamTally: LoadTally {
    var streams = 0
    /// Streams that ended with `event: done`.
    var completed = 0
    /// Failed streams by kind: `status_<code>`, `error_event`, `no_done`, `no_stamp`, `transport`.
    var errors: [String: Int] = [:]
    var firstError: String?
    var deltas = 0
    /// `event: reset` seen (the worker made a call again from the start): not a failure.
    var resets = 0
    var firstDelta = LatencyHistogram()
    var firstEvent = LatencyHistogram()
    var whole = LatencyHistogram()
    /// The first delta's stamp to its Redis stream entry's id (`<ms>-<seq>`, Redis's clock when
    /// the worker appended it), and that id to this client's receipt: which side of Redis the
    /// time went, to the millisecond.
    var toRedis = LatencyHistogram()
    var fromRedis = LatencyHistogram()
    /// Stamps later than their receipt (the two clocks are one, so this should stay 0; such a
    /// latency counts as 0).
    var negativeStamps = 0

    mutating func failed(_ kind: String, _ detail: String) {
        errors[kind, default: 0] += 1
        if firstError == nil { firstError = "\(kind): \(detail)" }
    }

    mutating func merge(_ other: StreamTally) {
        streams += other.streams
        completed += other.completed
        errors.merge(other.errors, uniquingKeysWith: +)
        if firstError == nil { firstError = other.firstError }
        deltas += other.deltas
        resets += other.resets
        firstDelta.merge(other.firstDelta)
        firstEvent.merge(other.firstEvent)
        whole.merge(other.whole)
        toRedis.merge(other.toRedis)
        fromRedis.merge(other.fromRedis)
        negativeStamps += other.negativeStamps
    }
}
