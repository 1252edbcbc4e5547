import Foundation
import NIOCore

/// One server-sent event (the WHATWG `text/event-stream` format): an optional `id:` a client
/// hands back as `Last-Event-ID` when it reconnects, an optional `event:` type (none is a
/// `message`), and its `data`.
struct ServerSentEvent: Sendable, Hashable {
    var id: String?
    var event: String?
    var data: String

    init(id: String? = nil, event: String? = nil, data: String) {
        self.id = id
        self.event = event
        self.data = data
    }

    /// An event whose data is `value` as the API's JSON (``JSONCoding``; one line, since JSON
    /// escapes its line breaks), keys sorted: the same entry reads the same on every process
    /// and every reconnect.
    init(id: String? = nil, event: String? = nil, json value: some Encodable) throws {
        let encoder = JSONCoding.encoder()
        encoder.outputFormatting.insert(.sortedKeys)
        self.init(id: id, event: event, data: String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// The event on the wire: `id:` and `event:` lines (their line breaks and NULs removed: a
    /// field cannot span lines, and a client ignores an id holding NUL), one `data:` line per
    /// line of `data` (CR, LF and CRLF all end a line), and the blank line that dispatches it.
    var encoded: String {
        var text = ""
        if let id { text += "id: " + Self.singleLine(id) + "\n" }
        if let event { text += "event: " + Self.singleLine(event) + "\n" }
        for line in Self.lines(data) { text += "data: " + line + "\n" }
        return text + "\n"
    }

    /// A comment line: clients ignore it, proxies and load balancers see traffic (keep-alive).
    static func comment(_ text: String) -> String {
        ": " + singleLine(text) + "\n\n"
    }

    /// The `: keep-alive` comment an idle stream sends.
    static let keepAlive = comment("keep-alive")

    private static func singleLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" }))
    }

    private static func lines(_ text: String) -> [Substring] {
        // "\r\n" is one Character in Swift, so splitting on the three forms covers every break.
        text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
    }
}
