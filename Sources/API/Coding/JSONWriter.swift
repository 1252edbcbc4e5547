import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Shared
import Telemetry
import UUIDText

/// JSON written straight into the answer's bytes, for the hottest answers (a job, a balance, a
/// submit's 202): `JSONEncoder` builds a tree of boxed values, a dictionary per object and a
/// `String` per number and date before it writes a byte, and those answers are most of what the
/// API sends.
///
/// The output is what ``JSONCoding/encoder()`` writes for the same values — the same keys and
/// values, strings escaped the same way (`"`, `\`, `\b`, `\f`, `\n`, `\r`, `\t`, every other
/// control character as `\u00XX`; `/` and the rest as they are), numbers in the same spelling
/// and dates as ``JSONCoding/timestamp(_:)`` — except that keys come in the order they are written
/// (`JSONEncoder`'s order is its dictionary's). `JSONWriterTests` holds it to that.
///
/// Commas are the writer's business: a value or key after another one is preceded by one.
struct JSONWriter {
    private(set) var buffer: ByteBuffer
    /// Whether the next key or value follows another in the same object or array.
    private var needsComma = false

    init(capacity: Int = 256) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    // MARK: Structure

    mutating func beginObject() {
        separate()
        buffer.writeInteger(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        buffer.writeInteger(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func beginArray() {
        separate()
        buffer.writeInteger(UInt8(ascii: "["))
        needsComma = false
    }

    mutating func endArray() {
        buffer.writeInteger(UInt8(ascii: "]"))
        needsComma = true
    }

    /// A key spelled in the source: written as it is (API.md's keys need no escaping).
    mutating func key(_ name: StaticString) {
        separate()
        buffer.writeInteger(UInt8(ascii: "\""))
        name.withUTF8Buffer { _ = buffer.writeBytes($0) }
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeInteger(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A key from data (a tenant's metadata), escaped.
    mutating func key(_ name: String) {
        separate()
        writeQuoted(name)
        buffer.writeInteger(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: Values

    mutating func null() {
        separate()
        buffer.writeStaticString("null")
        needsComma = true
    }

    mutating func bool(_ value: Bool) {
        separate()
        buffer.writeStaticString(value ? "true" : "false")
        needsComma = true
    }

    mutating func string(_ value: String) {
        separate()
        writeQuoted(value)
        needsComma = true
    }

    mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    /// A UUID as its lowercase text (``UUIDText``), without building a `String`.
    mutating func uuid(_ value: UUID) {
        separate()
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 36) { raw in
            UUIDText.write(value, into: UnsafeMutableBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: 36))
            return 36
        }
        buffer.writeInteger(UInt8(ascii: "\""))
        needsComma = true
    }

    mutating func int(_ value: Int) {
        separate()
        if value < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
        let magnitude = value.magnitude
        var divisor: UInt = 1
        while divisor <= magnitude / 10 { divisor *= 10 }
        while divisor > 0 {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(magnitude / divisor % 10))
            divisor /= 10
        }
        needsComma = true
    }

    mutating func int(_ value: Int?) {
        if let value { int(value) } else { null() }
    }

    /// As `JSONEncoder` spells a `Double`: its description without a trailing `.0`. JSON has no
    /// spelling for infinities and NaN (`JSONEncoder` refuses them); they are written as `null`,
    /// which is what ``JSONValue/storable`` makes of them before they are stored.
    mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        separate()
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        buffer.writeString(text)
        needsComma = true
    }

    /// As `JSONEncoder` spells a `Decimal`: its description, a JSON number.
    mutating func decimal(_ value: Decimal) {
        separate()
        buffer.writeString(value.description)
        needsComma = true
    }

    mutating func decimal(_ value: Decimal?) {
        if let value { decimal(value) } else { null() }
    }

    /// ``JSONCoding/timestamp(_:)``'s `2026-11-26T18:47:10.266Z`, computed rather than formatted:
    /// the date's whole seconds and its milliseconds truncated, as Foundation's ISO 8601 style
    /// takes them from the date's interval since 2001.
    mutating func date(_ value: Date) {
        separate()
        let interval = value.timeIntervalSinceReferenceDate
        let whole = interval.rounded(.down)
        // 1970 to 9999: four-digit years; anything else is the formatter's to spell.
        guard whole >= -978_307_200, whole < 252_423_993_600 else {
            writeQuoted(JSONCoding.timestamp(value))
            needsComma = true
            return
        }
        let milliseconds = Int((interval - whole) * 1e9) / 1_000_000
        var text: [UInt8] = []
        text.reserveCapacity(24)
        LogTimestamp.appendUTC(epochSecond: Int(whole) + 978_307_200, milliseconds: milliseconds, to: &text)
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeBytes(text)
        buffer.writeInteger(UInt8(ascii: "\""))
        needsComma = true
    }

    mutating func date(_ value: Date?) {
        if let value { date(value) } else { null() }
    }

    /// A stored JSON value (metadata, a result), as ``JSONValue``'s `Encodable` conformance writes
    /// it; object members in the dictionary's order.
    mutating func json(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .integer(let number): int(number)
        case .number(let number): double(number)
        case .string(let text): string(text)
        case .array(let elements):
            beginArray()
            for element in elements { json(element) }
            endArray()
        case .object(let members): object(members)
        }
    }

    mutating func json(_ value: JSONValue?) {
        if let value { json(value) } else { null() }
    }

    mutating func object(_ members: [String: JSONValue]) {
        beginObject()
        for (name, member) in members {
            key(name)
            json(member)
        }
        endObject()
    }

    // MARK: The answer

    /// A 200 answer holding the JSON, with the headers Hummingbird's `JSONEncoder` answers carry.
    func response(status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(buffer.readableBytes)],
            body: .init(byteBuffer: buffer)
        )
    }

    // MARK: Internals

    private mutating func separate() {
        if needsComma { buffer.writeInteger(UInt8(ascii: ",")) }
    }

    /// `text` between quotes, escaped as `JSONEncoder` escapes it. Every byte that needs an
    /// escape is ASCII, so the UTF-8 is scanned as bytes and copied in runs.
    private mutating func writeQuoted(_ text: String) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var runStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < index { buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
                runStart = index + 1
                buffer.writeInteger(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): buffer.writeInteger(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): buffer.writeInteger(UInt8(ascii: "\\"))
                case 0x08: buffer.writeInteger(UInt8(ascii: "b"))
                case 0x09: buffer.writeInteger(UInt8(ascii: "t"))
                case 0x0A: buffer.writeInteger(UInt8(ascii: "n"))
                case 0x0C: buffer.writeInteger(UInt8(ascii: "f"))
                case 0x0D: buffer.writeInteger(UInt8(ascii: "r"))
                default:
                    buffer.writeStaticString("u00")
                    buffer.writeInteger(Self.hexDigits[Int(byte >> 4)])
                    buffer.writeInteger(Self.hexDigits[Int(byte & 0xF)])
                }
            }
            if runStart < bytes.count { buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count])) }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}

/// An answer that writes itself with ``JSONWriter`` (a job, a balance, a submit's 202): its
/// `response(from:context:)` is the writer's bytes, not `JSONEncoder`'s, while its `Encodable`
/// conformance stays for lists and for the tests that hold the two to the same JSON.
protocol JSONWritable: ResponseEncodable {
    /// A first guess at the answer's size, so that most answers fit the first buffer.
    static var writerCapacity: Int { get }
    func write(to writer: inout JSONWriter)
}

extension JSONWritable {
    func response(from request: Request, context: some RequestContext) throws -> Response {
        var writer = JSONWriter(capacity: Self.writerCapacity)
        write(to: &writer)
        return writer.response()
    }
}
