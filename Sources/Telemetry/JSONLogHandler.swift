public import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// swift-log's handler for `LOG_FORMAT=json`: each event is one ``JSONLogLine`` on standard
/// output (or standard error, the mock upstream's stream), written whole under a lock so that
/// concurrent lines never interleave.
public struct JSONLogHandler: LogHandler {
    /// Where the lines go.
    public enum Stream: Sendable {
        case standardOutput, standardError
    }

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let stream: Stream

    public init(label: String, stream: Stream = .standardOutput, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.stream = stream
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
        LineWriter.write(line, to: stream)
    }
}

/// One `write` of a whole line at a time, per process.
private enum LineWriter {
    private static let lock = Mutex<Void>(())

    static func write(_ line: String, to stream: JSONLogHandler.Stream) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        let descriptor: Int32 = stream == .standardOutput ? 1 : 2
        lock.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = systemWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0 && errno == EINTR {
                        continue
                    } else {
                        return  // a closed stream: the line is lost, as swift-log's own handler loses it
                    }
                }
            }
        }
    }

    private static func systemWrite(_ descriptor: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.write(descriptor, pointer, count)
        #else
        Darwin.write(descriptor, pointer, count)
        #endif
    }
}

/// `2026-01-02T03:04:05.678Z`: RFC 3339 in UTC with milliseconds, from the wall clock, without
/// Foundation's formatters.
enum RFC3339 {
    static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return format(seconds: Int(spec.tv_sec), milliseconds: Int(spec.tv_nsec / 1_000_000))
    }

    static func format(seconds: Int, milliseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var text = ""
        text.reserveCapacity(24)
        text += pad(Int(parts.tm_year) + 1900, 4)
        text += "-" + pad(Int(parts.tm_mon) + 1, 2)
        text += "-" + pad(Int(parts.tm_mday), 2)
        text += "T" + pad(Int(parts.tm_hour), 2)
        text += ":" + pad(Int(parts.tm_min), 2)
        text += ":" + pad(Int(parts.tm_sec), 2)
        text += "." + pad(milliseconds, 3) + "Z"
        return text
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
