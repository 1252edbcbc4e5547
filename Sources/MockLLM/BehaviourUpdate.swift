/// The body of `PUT /_mock/behaviour`: the fields to replace, the others kept.
///
/// Unknown fields are refused rather than ignored: a misspelt `latency` that silently did nothing
/// would make a benchmark measure the wrong thing.
struct BehaviourUpdate: Sendable, Decodable {
    var latencyMs: Int?
    var mode: FailureMode?
    var failureRate: Double?
    var failFirstN: Int?
    var retryAfterSeconds: Double?
    var timeoutSeconds: Double?
    var contextLimit: Int?
    var streamDeltaMs: Int?
    var streamStamp: Bool?
    /// Absent: unchanged; `null`: the hostile mode off; an object: on, with these settings.
    var hostile: HostileSettings??
    var schemaViolations: Int?

    static let fieldNames = [
        "latency_ms", "mode", "failure_rate", "fail_first_n", "retry_after_seconds", "timeout_seconds", "context_limit", "stream_delta_ms",
        "stream_stamp", "hostile", "schema_violations",
    ]

    init() {}

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: FieldName.self)
        for key in container.allKeys {
            switch key.stringValue {
            case "latency_ms": self.latencyMs = try container.decode(Int.self, forKey: key)
            case "failure_rate": self.failureRate = try container.decode(Double.self, forKey: key)
            case "fail_first_n": self.failFirstN = try container.decode(Int.self, forKey: key)
            case "retry_after_seconds": self.retryAfterSeconds = try container.decode(Double.self, forKey: key)
            case "timeout_seconds": self.timeoutSeconds = try container.decode(Double.self, forKey: key)
            case "context_limit": self.contextLimit = try container.decode(Int.self, forKey: key)
            case "stream_delta_ms": self.streamDeltaMs = try container.decode(Int.self, forKey: key)
            case "stream_stamp": self.streamStamp = try container.decode(Bool.self, forKey: key)
            case "schema_violations": self.schemaViolations = try container.decode(Int.self, forKey: key)
            case "hostile":
                self.hostile = try container.decodeNil(forKey: key) ? .some(nil) : try container.decode(HostileSettings.self, forKey: key)
            case "mode":
                let name = try container.decode(String.self, forKey: key)
                guard let mode = FailureMode(rawValue: name) else {
                    let names = FailureMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw DecodingError.dataCorruptedError(
                        forKey: key,
                        in: container,
                        debugDescription: "mode must be one of \(names), not '\(name)'"
                    )
                }
                self.mode = mode
            default:
                throw DecodingError.dataCorruptedError(
                    forKey: key,
                    in: container,
                    debugDescription: "unknown field '\(key.stringValue)'; the fields are \(Self.fieldNames.joined(separator: ", "))"
                )
            }
        }
    }

    /// `behaviour` with the fields this update lists replaced.
    func applied(to behaviour: MockBehaviour) -> MockBehaviour {
        var result = behaviour
        if let latencyMs { result.latencyMs = latencyMs }
        if let mode { result.mode = mode }
        if let failureRate { result.failureRate = failureRate }
        if let failFirstN { result.failFirstN = failFirstN }
        if let retryAfterSeconds { result.retryAfterSeconds = retryAfterSeconds }
        if let timeoutSeconds { result.timeoutSeconds = timeoutSeconds }
        if let contextLimit { result.contextLimit = contextLimit }
        if let streamDeltaMs { result.streamDeltaMs = streamDeltaMs }
        if let streamStamp { result.streamStamp = streamStamp }
        if let hostile { result.hostile = hostile }
        if let schemaViolations { result.schemaViolations = schemaViolations }
        return result
    }

    /// Any key, so that unknown ones can be named in the error.
    private struct FieldName: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
