public import Foundation
public import Postgres

/// JSON text read straight into a ``JSONValue``, in one pass over its bytes.
///
/// `JSONDecoder` reads a `JSONValue` by trying each kind in turn, and every miss throws a
/// `DecodingError` whose context it builds first: a message object costs a thrown error, and the
/// decoder's own map of the text comes before any of it. An upstream's answer (a few hundred bytes)
/// took ~12 µs that way, a stored job request ~13 µs (`saas-bench codecs`) — with the request body
/// written and the ids read, about a sixth of a worker's CPU per job in the benchmarks of issue 13.
/// This reads the same text into the same value in a fraction of it.
///
/// It reads what `JSONDecoder` reads, as `JSONDecoder` reads it (`JSONValueReaderTests` compares
/// the two over hand-picked, generated and damaged texts): RFC 8259 text in UTF-8 with an optional
/// byte order mark; a trailing comma in an array or object accepted; of duplicate keys the first
/// kept; nesting at most ``maxDepth`` deep; unescaped control characters, unpaired surrogate
/// escapes, invalid UTF-8 and a number past `Double`'s range refused. A number is an `.integer`
/// when it is integral and fits `Int` — `1.0` and `1e2` included, as `JSONDecoder` decodes them as
/// `Int` — and a `.number` otherwise.
///
/// Two differences, both deliberate. Text in UTF-16 or UTF-32, which `JSONDecoder` detects and
/// converts, is refused: RFC 8259 requires UTF-8 between systems, and no provider sends anything
/// else. And an integral number written with a fraction or an exponent is the integer its
/// `Double` is, where `JSONDecoder` sometimes takes the decimal digits instead
/// (`-3.9318061828233917e+18` is `-3931806182823391744` here, `…700` there): the same number to
/// `Double`'s precision either way.
public enum JSONValueReader {
    /// The deepest nesting of arrays and objects read (`JSONDecoder`'s limit): a text nested deeper
    /// is refused, so a hostile one cannot exhaust the stack.
    public static let maxDepth = 512

    /// The value `data` holds, or nil when it is not such a text.
    public static func value(_ data: Data) -> JSONValue? {
        data.withUnsafeBytes { value($0) }
    }

    /// The value `bytes` hold, or nil when they are not such a text.
    public static func value(_ bytes: UnsafeRawBufferPointer) -> JSONValue? {
        var reader = Reader(bytes.bindMemory(to: UInt8.self))
        if reader.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reader.index = 3 }
        guard let value = reader.value(depth: 0) else { return nil }
        reader.skipSpace()
        return reader.index == reader.bytes.count ? value : nil
    }
}

extension PostgresJSON {
    /// The stored document, read by ``JSONValueReader``; nil if it is not JSON.
    public var value: JSONValue? {
        bytes.withUnsafeBytes { JSONValueReader.value($0) }
    }
}

private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) -> JSONValue? {
        skipSpace()
        guard let byte = current else { return nil }
        switch byte {
        case UInt8(ascii: "{"): return object(depth: depth + 1)
        case UInt8(ascii: "["): return array(depth: depth + 1)
        case UInt8(ascii: "\""): return string().map { .string($0) }
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        default: return nil
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) -> JSONValue? {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { return nil }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return nil }
        index += count
        return value
    }

    private mutating func array(depth: Int) -> JSONValue? {
        guard depth <= JSONValueReader.maxDepth else { return nil }
        index += 1
        var elements: [JSONValue] = []
        skipSpace()
        if current == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            guard let element = value(depth: depth) else { return nil }
            elements.append(element)
            skipSpace()
            switch current {
            case UInt8(ascii: ","):
                index += 1
                skipSpace()
                // A trailing comma, as `JSONDecoder` allows.
                if current == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                }
            case UInt8(ascii: "]"):
                index += 1
                return .array(elements)
            default:
                return nil
            }
        }
    }

    private mutating func object(depth: Int) -> JSONValue? {
        guard depth <= JSONValueReader.maxDepth else { return nil }
        index += 1
        var members: [String: JSONValue] = [:]
        skipSpace()
        if current == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            guard current == UInt8(ascii: "\""), let key = string() else { return nil }
            skipSpace()
            guard current == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let member = value(depth: depth) else { return nil }
            // The first of duplicate keys is the one kept.
            if members[key] == nil { members[key] = member }
            skipSpace()
            switch current {
            case UInt8(ascii: ","):
                index += 1
                skipSpace()
                if current == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                }
            case UInt8(ascii: "}"):
                index += 1
                return .object(members)
            default:
                return nil
            }
        }
    }

    /// A string from its opening quote: its bytes as they are when nothing in it is escaped (the
    /// common case), else unescaped into a buffer of their own.
    private mutating func string() -> String? {
        index += 1
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return String(validating: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { return escapedString(from: start) }
            guard byte >= 0x20 else { return nil }
            index += 1
        }
        return nil
    }

    private mutating func escapedString(from start: Int) -> String? {
        var text: [UInt8] = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(validating: text, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count else { return nil }
                let escaped = bytes[index + 1]
                index += 2
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escaped)
                case UInt8(ascii: "b"): text.append(0x08)
                case UInt8(ascii: "f"): text.append(0x0C)
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "t"): text.append(0x09)
                case UInt8(ascii: "u"):
                    guard let scalar = unicodeEscape() else { return nil }
                    text.append(contentsOf: String(Character(scalar)).utf8)
                default:
                    return nil
                }
            case 0..<0x20:
                return nil
            default:
                text.append(byte)
                index += 1
            }
        }
        return nil
    }

    /// The character of a `\u` escape whose four digits start at `index`, with the low half that
    /// must follow a high surrogate; nil for an unpaired surrogate, as `JSONDecoder` refuses one.
    private mutating func unicodeEscape() -> Unicode.Scalar? {
        guard let unit = JSONEscape.hex4(bytes, at: index) else { return nil }
        index += 4
        switch unit {
        case 0xD800...0xDBFF:
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                let low = JSONEscape.hex4(bytes, at: index + 2), (0xDC00...0xDFFF).contains(low)
            else { return nil }
            index += 6
            return Unicode.Scalar(0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00))
        case 0xDC00...0xDFFF:
            return nil
        default:
            return Unicode.Scalar(unit)
        }
    }

    /// A number by RFC 8259's grammar. Integer text is read digit by digit; anything else (a
    /// fraction, an exponent, an integer past `Int`) as a `Double`, which counts as an integer
    /// when it is one and fits, unless its text was an integer past `Int`.
    private mutating func number() -> JSONValue? {
        let start = index
        let negative = current == UInt8(ascii: "-")
        if negative { index += 1 }
        guard let first = current, isDigit(first) else { return nil }
        var integer = 0
        var fits = true
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            while let digit = current, isDigit(digit) {
                if fits {
                    let (times, overflowTimes) = integer.multipliedReportingOverflow(by: 10)
                    let value = Int(digit - UInt8(ascii: "0"))
                    let (next, overflowPlus) = negative ? times.subtractingReportingOverflow(value) : times.addingReportingOverflow(value)
                    if overflowTimes || overflowPlus { fits = false } else { integer = next }
                }
                index += 1
            }
        }
        var integral = true
        if current == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard skipDigits() else { return nil }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            integral = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() else { return nil }
        }
        if integral && fits { return .integer(integer) }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let double = Double(text), double.isFinite else { return nil }
        // Integer text past `Int` stays a `Double`, whatever it rounds to.
        if !integral, double == double.rounded(), double > -0x1p63, double < 0x1p63 { return .integer(Int(double)) }
        return .number(double)
    }

    /// One or more digits; false when there is none.
    private mutating func skipDigits() -> Bool {
        let start = index
        while let digit = current, isDigit(digit) { index += 1 }
        return index > start
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
