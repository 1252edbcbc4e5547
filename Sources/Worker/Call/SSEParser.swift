import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One server-sent event: its `event:` name, if any, and its `data:` lines joined by `\n`.
struct SSEEvent: Sendable, Equatable {
    var name: String?
    var data: [UInt8]

    /// The data as text, for tests and for `[DONE]`.
    var text: String { String(decoding: data, as: UTF8.self) }
}

/// Reads `text/event-stream` incrementally, from the buffers an HTTP body arrives in.
///
/// The bytes come from an upstream, which is not trusted (SYSTEM.md, guarantee 11): a line, an
/// event and the whole stream are bounded, and whatever arrives — lines split anywhere across
/// buffers, `\n`, `\r\n` or a lone `\r`, comments, unknown fields — is either read or refused
/// with ``Overflow``, never trapped on.
struct SSEParser {
    /// A bound was passed; the stream is not read further.
    enum Overflow: Error, Equatable {
        /// A line, or the data of one event, is longer than ``maxLineBytes``.
        case line
        /// The stream is longer than ``maxTotalBytes``.
        case total
    }

    let maxLineBytes: Int
    let maxTotalBytes: Int

    private var line: [UInt8] = []
    /// The previous buffer ended in `\r`: a `\n` opening this one belongs to that line end.
    private var afterCR = false
    private var total = 0
    private var name: String?
    private var data: [UInt8] = []
    private var hasData = false

    init(maxLineBytes: Int, maxTotalBytes: Int) {
        self.maxLineBytes = maxLineBytes
        self.maxTotalBytes = maxTotalBytes
    }

    /// The events that `buffer` completes, in order.
    mutating func feed(_ buffer: ByteBuffer) throws(Overflow) -> [SSEEvent] {
        total += buffer.readableBytes
        guard total <= maxTotalBytes else { throw .total }
        let bytes = buffer.readableBytesView
        var events: [SSEEvent] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if afterCR {
                afterCR = false
                if bytes[index] == Self.lf {
                    index += 1
                    continue
                }
            }
            let offset = index - bytes.startIndex
            let end = bytes.startIndex + buffer.withUnsafeReadableBytes { Self.lineEnd(in: $0, from: offset) }
            guard line.count + (end - index) <= maxLineBytes else { throw .line }
            line.append(contentsOf: bytes[index..<end])
            guard end < bytes.endIndex else { break }
            afterCR = bytes[end] == Self.cr
            if let event = try take(line) { events.append(event) }
            line.removeAll(keepingCapacity: true)
            index = end + 1
        }
        return events
    }

    /// The body ended: a last line without its line end, and a last event without the blank line
    /// that should close it, are read as if they had them (a server that omits the final blank
    /// line after `data: [DONE]` is common enough).
    mutating func finish() throws(Overflow) -> [SSEEvent] {
        var events: [SSEEvent] = []
        if !line.isEmpty, let event = try take(line) { events.append(event) }
        line.removeAll()
        if let event = try take([]) { events.append(event) }
        return events
    }

    /// One line: a field, a comment, or the blank line that dispatches the event.
    private mutating func take(_ line: [UInt8]) throws(Overflow) -> SSEEvent? {
        guard !line.isEmpty else {
            defer {
                name = nil
                data.removeAll(keepingCapacity: true)
                hasData = false
            }
            return hasData ? SSEEvent(name: name, data: data) : nil
        }
        if line[0] == Self.colon { return nil }  // a comment (`: keep-alive`)
        let colon = line.firstIndex(of: Self.colon) ?? line.endIndex
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex, line[valueStart] == Self.space { valueStart += 1 }
        let field = line[..<colon]
        let value = line[valueStart...]
        if field.elementsEqual("data".utf8) {
            if hasData { data.append(Self.lf) }
            guard data.count + value.count <= maxLineBytes else { throw .line }
            data.append(contentsOf: value)
            hasData = true
        } else if field.elementsEqual("event".utf8) {
            name = String(decoding: value, as: UTF8.self)
        }
        // `id:`, `retry:` and unknown fields say nothing an upstream call needs.
        return nil
    }

    /// The offset of the first `\n` or `\r` at or after `start`, or `raw.count`: `memchr`, not a
    /// loop over bytes — an upstream's 1 MiB line is scanned at memory speed, and a long scan
    /// never holds a cooperative thread (in any build).
    private static func lineEnd(in raw: UnsafeRawBufferPointer, from start: Int) -> Int {
        guard start < raw.count, let base = raw.baseAddress else { return raw.count }
        let from = base + start
        let length = raw.count - start
        let lfAt = memchr(from, Int32(lf), length).map { UnsafeRawPointer($0) - from } ?? length
        let crAt = memchr(from, Int32(cr), lfAt).map { UnsafeRawPointer($0) - from } ?? lfAt
        return start + min(lfAt, crAt)
    }

    private static let lf = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")
    private static let colon = UInt8(ascii: ":")
    private static let space = UInt8(ascii: " ")
}
