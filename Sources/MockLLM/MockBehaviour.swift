import NIOCore

/// How the mock behaves: latency and injected failures.
///
/// Set from the command line at start and replaced while running (`PUT /_mock/behaviour`), so one
/// mock process can serve a whole test run or benchmark whose phases need different upstreams.
/// Field names are those of the JSON form (`latency_ms`, …), in snake case.
struct MockBehaviour: Sendable, Equatable {
    /// Added to every call that reaches the simulated model (not to requests rejected as invalid).
    var latencyMs: Int = 0
    /// What the failing calls get.
    var mode: FailureMode = .ok
    /// The fraction of calls that fail, 0…1, as a fixed pattern: call `n` (counted from 1 since the
    /// behaviour last changed) fails when `ceil(n × rate) > ceil((n − 1) × rate)`. With 0.5 calls
    /// 1, 3, 5… fail; with 0.25 calls 1, 5, 9…; with 1 every call.
    var failureRate: Double = 1.0
    /// When > 0, only calls 1…N (since the behaviour last changed) may fail; later calls succeed.
    var failFirstN: Int = 0
    /// What `rate_limit` answers ask the client to wait.
    var retryAfterSeconds: Double = 1
    /// How long `timeout` holds a call before it gives up with 504.
    var timeoutSeconds: Double = 600
    /// Prompts estimated above this many tokens get 400 `context_length_exceeded`.
    var contextLimit: Int = 1_000_000
    /// The pause between two deltas of a streamed answer (`stream: true`), so that a test can
    /// leave in the middle of a stream; 0 sends them as fast as the connection takes them.
    var streamDeltaMs: Int = 0
    /// When on, a streamed text answer starts with one extra delta, `[t=<µs since the epoch when
    /// it was written>] `, so that a benchmark client on the same machine measures the time from
    /// the upstream's first delta to its own first event (`saas-bench streams`). Tool calls are
    /// left alone: their deltas are JSON arguments.
    var streamStamp: Bool = false
    /// When set, every call that reaches the simulated model is answered from the hostile catalogue
    /// instead (`mode` and its pattern are not used); latency still applies.
    var hostile: HostileSettings? = nil
    /// The first N `json_schema` answers (since the behaviour last changed) break their schema —
    /// valid JSON with a required property left out or a value of the wrong type — and later ones
    /// fit it again: a client that checks structured output can test its retry (N = 1) and its
    /// failure (N = 2) against the mock.
    var schemaViolations: Int = 0

    /// The largest values accepted, so that a typo cannot park the mock for days.
    static let maximumLatencyMs = 3_600_000
    static let maximumSeconds: Double = 86_400
    static let maximumContextLimit = 1_000_000_000

    /// Whether call `callNumber` (1-based, counted since the behaviour last changed) gets `mode`.
    func failsCall(_ callNumber: Int) -> Bool {
        guard self.mode != .ok, callNumber >= 1 else { return false }
        if self.failFirstN > 0, callNumber > self.failFirstN { return false }
        // integer arithmetic in parts per million: exact, so the pattern never drifts
        let perMillion = Int((self.failureRate * 1_000_000).rounded())
        func failuresUpTo(_ n: Int) -> Int { (n * perMillion + 999_999) / 1_000_000 }
        return failuresUpTo(callNumber) > failuresUpTo(callNumber - 1)
    }

    /// The first problem with the values, in a sentence naming the field; nil when they are valid.
    var problem: String? {
        if !(0...Self.maximumLatencyMs).contains(self.latencyMs) {
            return "latency_ms must be between 0 and \(Self.maximumLatencyMs)"
        }
        if !(0...Self.maximumLatencyMs).contains(self.streamDeltaMs) {
            return "stream_delta_ms must be between 0 and \(Self.maximumLatencyMs)"
        }
        if !(self.failureRate >= 0 && self.failureRate <= 1) {
            return "failure_rate must be between 0.0 and 1.0"
        }
        if self.failFirstN < 0 {
            return "fail_first_n must be 0 or more"
        }
        if self.schemaViolations < 0 {
            return "schema_violations must be 0 or more"
        }
        if !(self.retryAfterSeconds >= 0 && self.retryAfterSeconds <= Self.maximumSeconds) {
            return "retry_after_seconds must be between 0 and \(Int(Self.maximumSeconds))"
        }
        if !(self.timeoutSeconds >= 0 && self.timeoutSeconds <= Self.maximumSeconds) {
            return "timeout_seconds must be between 0 and \(Int(Self.maximumSeconds))"
        }
        if !(1...Self.maximumContextLimit).contains(self.contextLimit) {
            return "context_limit must be between 1 and \(Self.maximumContextLimit)"
        }
        return nil
    }

    /// The JSON form, as `GET /_mock/behaviour` answers it and `PUT` accepts it.
    func write(into writer: inout JSONWriter) {
        writer.raw("{\"latency_ms\":")
        writer.int(self.latencyMs)
        writer.raw(",\"mode\":")
        writer.string(self.mode.rawValue)
        writer.raw(",\"failure_rate\":")
        writer.number(self.failureRate)
        writer.raw(",\"fail_first_n\":")
        writer.int(self.failFirstN)
        writer.raw(",\"retry_after_seconds\":")
        writer.number(self.retryAfterSeconds)
        writer.raw(",\"timeout_seconds\":")
        writer.number(self.timeoutSeconds)
        writer.raw(",\"context_limit\":")
        writer.int(self.contextLimit)
        // only when set, as `hostile`: the form without them is what clients have always seen
        if self.streamDeltaMs != 0 {
            writer.raw(",\"stream_delta_ms\":")
            writer.int(self.streamDeltaMs)
        }
        if self.streamStamp {
            writer.raw(",\"stream_stamp\":true")
        }
        if self.schemaViolations != 0 {
            writer.raw(",\"schema_violations\":")
            writer.int(self.schemaViolations)
        }
        if let hostile = self.hostile {
            writer.raw(",\"hostile\":")
            hostile.write(into: &writer)
        }
        writer.raw("}")
    }

    /// The JSON form as text, for the log.
    var json: String {
        var writer = JSONWriter(capacity: 192)
        self.write(into: &writer)
        return String(buffer: writer.buffer)
    }
}
