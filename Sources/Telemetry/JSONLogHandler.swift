public import Logging

/// swift-log's handler for `LOG_FORMAT=json`: each event is one ``JSONLogLine`` on standard
/// output (or standard error, the mock upstream's stream), written whole with one `write`
/// (``LogLineWriter``) so that concurrent lines never interleave.
public struct JSONLogHandler: LogHandler {
    /// Where the lines go.
    public enum Stream: Sendable {
        case standardOutput, standardError
    }

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let descriptor: Int32

    public init(label: String, stream: Stream = .standardOutput, metadataProvider: Logger.MetadataProvider? = nil) {
        self.init(label: label, descriptor: stream.descriptor, metadataProvider: metadataProvider)
    }

    /// Lines to any open descriptor (the tests' pipes).
    init(label: String, descriptor: Int32, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.descriptor = descriptor
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        let line = JSONLogLine.make(
            timestamp: RFC3339.now(),
            level: event.level,
            label: label,
            message: event.message.description,
            metadata: merged,
            source: event.source,
            error: event.error
        )
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        LogLineWriter.write(bytes, to: descriptor)
    }
}

/// `2026-01-02T03:04:05.678Z`: RFC 3339 in UTC with milliseconds, from the wall clock, without
/// Foundation's or libc's formatters (``LogTimestamp``).
enum RFC3339 {
    static func now() -> String {
        let (seconds, milliseconds) = LogTimestamp.now()
        return format(seconds: seconds, milliseconds: milliseconds)
    }

    static func format(seconds: Int, milliseconds: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        LogTimestamp.appendUTC(epochSecond: seconds, milliseconds: milliseconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
