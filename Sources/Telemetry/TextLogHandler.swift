public import Logging

/// swift-log's handler for `LOG_FORMAT=text`, in the line shape of swift-log's own
/// `StreamLogHandler` — `2026-11-30T05:19:02+0000 info saas-api: hb.request.id=… [API] message` —
/// made cheap enough for a line per request:
///
/// - the timestamp is arithmetic on the epoch second (``LogTimestamp``), where `StreamLogHandler`
///   called `localtime` and `strftime` for every line;
/// - metadata is merged and sorted only when a line is written, never when it is set (Hummingbird
///   sets a request id on every request's logger, and `StreamLogHandler` formatted all of a
///   logger's metadata on every change);
/// - the line is built as bytes and leaves in one `write` (``LogLineWriter``), so concurrent lines
///   never interleave.
public struct TextLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let descriptor: Int32

    /// `metadataProvider` defaults to the process's (`LoggingSystem.metadataProvider`), as
    /// `StreamLogHandler.standardOutput(label:)` does.
    public init(
        label: String,
        stream: JSONLogHandler.Stream = .standardOutput,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        self.init(label: label, descriptor: stream.descriptor, metadataProvider: metadataProvider)
    }

    /// Lines to any open descriptor (the tests' pipes).
    init(label: String, descriptor: Int32, metadataProvider: Logger.MetadataProvider?) {
        self.label = label
        self.descriptor = descriptor
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = Self.line(
            epochSecond: LogTimestamp.now().seconds,
            offset: nil,
            level: event.level,
            label: label,
            metadata: mergedMetadata(event),
            source: event.source,
            message: event.message.description
        )
        LogLineWriter.write(line, to: descriptor)
    }

    /// The handler's metadata, then the provider's, then the event's, each replacing the keys
    /// before it, then the error (as `StreamLogHandler` names it), sorted by key. A short array
    /// rather than a merged dictionary: a request's line holds two to four entries.
    private func mergedMetadata(_ event: LogEvent) -> [(key: String, value: Logger.MetadataValue)] {
        var entries: [(key: String, value: Logger.MetadataValue)] = []
        entries.reserveCapacity(metadata.count + (event.metadata?.count ?? 0) + (event.error == nil ? 0 : 2))
        for (key, value) in metadata { entries.append((key, value)) }
        if let provided = metadataProvider?.get() {
            for (key, value) in provided { Self.put(key, value, into: &entries) }
        }
        if let own = event.metadata {
            for (key, value) in own { Self.put(key, value, into: &entries) }
        }
        if let error = event.error {
            Self.put("error.message", .string("\(error)"), into: &entries)
            Self.put("error.type", .string(String(reflecting: type(of: error))), into: &entries)
        }
        if entries.count > 1 { entries.sort { $0.key < $1.key } }
        return entries
    }

    /// `key` set to `value`: replaced where it is, else added.
    private static func put(_ key: String, _ value: Logger.MetadataValue, into entries: inout [(key: String, value: Logger.MetadataValue)]) {
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index].value = value
        } else {
            entries.append((key, value))
        }
    }

    /// One line with its newline: `TIMESTAMP LEVEL LABEL: KEY=VALUE … [SOURCE] MESSAGE`, the
    /// label's space and colon as `StreamLogHandler` writes them (no space for an empty label),
    /// metadata already merged and sorted. `offset` is the UTC offset in seconds; nil, the local
    /// one.
    static func line(
        epochSecond: Int,
        offset: Int?,
        level: Logger.Level,
        label: String,
        metadata: [(key: String, value: Logger.MetadataValue)],
        source: String,
        message: String
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96 + label.utf8.count + source.utf8.count + message.utf8.count + metadata.count * 48)
        if let offset {
            LogTimestamp.appendLocal(epochSecond: epochSecond, offset: offset, to: &out)
        } else {
            LogTimestamp.appendLocal(epochSecond: epochSecond, to: &out)
        }
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: level.rawValue.utf8)
        if !label.isEmpty { out.append(UInt8(ascii: " ")) }
        out.append(contentsOf: label.utf8)
        out.append(UInt8(ascii: ":"))
        for (key, value) in metadata {
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: key.utf8)
            out.append(UInt8(ascii: "="))
            switch value {
            case .string(let text): out.append(contentsOf: text.utf8)
            case .stringConvertible(let convertible): out.append(contentsOf: convertible.description.utf8)
            default: out.append(contentsOf: value.description.utf8)
            }
        }
        out.append(contentsOf: " [".utf8)
        out.append(contentsOf: source.utf8)
        out.append(contentsOf: "] ".utf8)
        out.append(contentsOf: message.utf8)
        out.append(UInt8(ascii: "\n"))
        return out
    }
}
