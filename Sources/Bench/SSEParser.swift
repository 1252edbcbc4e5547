/// One server-sent event as a client dispatches it: its `id:`, its `event:` type (nil for a
/// plain message) and its `data:` lines joined by line feeds.
struct SSEEvent: Sendable, Equatable {
    var id: String?
    var event: String?
    var data: String
}

/// A `text/event-stream` body read as it arrives: bytes in, the events they complete out.
///
/// The WHATWG rules `saas-bench streams` needs: a line ends at LF, CR or CRLF (a CR at the end of
/// a chunk waits for the next one, which may start with its LF); a blank line dispatches the event
/// (none when it had no `data:`); lines starting with `:` are comments (the API's keep-alives);
/// one space after the colon is dropped. The line being read stays in a buffer, so events split
/// across body chunks come out whole.
struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var afterCR = false
    private var id: String?
    private var event: String?
    private var data: [String] = []
    private var hasData = false

    /// The events `bytes` completes, in order.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [SSEEvent] {
        var events: [SSEEvent] = []
        for byte in bytes {
            if afterCR {
                afterCR = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\n"):
                endLine(into: &events)
            case UInt8(ascii: "\r"):
                afterCR = true
                endLine(into: &events)
            default:
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine(into events: inout [SSEEvent]) {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else {
            if hasData { events.append(SSEEvent(id: id, event: event, data: data.joined(separator: "\n"))) }
            event = nil
            data = []
            hasData = false
            return
        }
        if line[0] == UInt8(ascii: ":") { return }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let name = String(decoding: line[..<colon], as: UTF8.self)
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = String(decoding: line[valueStart...], as: UTF8.self)
        switch name {
        case "id": id = value
        case "event": event = value
        case "data":
            data.append(value)
            hasData = true
        default: break
        }
    }
}
