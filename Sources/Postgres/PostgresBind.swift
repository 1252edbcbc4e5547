public import Foundation
import UUIDText

/// A statement parameter. Statements take their values only as bound parameters, never
/// interpolated into SQL text. Values travel in PostgreSQL's text format, except `bytea`.
public enum PostgresBind: Sendable, Hashable {
    case null
    case text(String)
    case int(Int)
    case bool(Bool)
    case double(Double)
    case numeric(Decimal)
    case uuid(UUID)
    case timestamp(Date)
    /// A JSON document, for `json`/`jsonb` columns.
    case json(String)
    case bytea([UInt8])
    /// An array literal of text values, nil elements NULL, for `= ANY($1::uuid[])` or
    /// `unnest($1::bigint[], …)`. Its type is left to the statement (the cast names it: `text[]`,
    /// `uuid[]`, `bigint[]`, `jsonb[]` …), so PostgreSQL parses the literal once, when the statement
    /// is bound. Sent as `text[]` and cast in SQL (`$1::text[]::uuid[]`), the cast was an
    /// expression that a generic plan evaluated again for every row it met — a nested loop
    /// re-parsed a 1,000-id array per row, and the worker's claim marks spent seconds in `uuid_in`.
    case textArray([String?])

    /// The parameter's type OID. Text is left unspecified (0) so that PostgreSQL infers it from
    /// the statement — a text value bound to a `uuid` or `jsonb` column just works.
    var typeOID: UInt32 {
        switch self {
        case .null, .text: return 0
        case .int: return 20
        case .bool: return 16
        case .double: return 701
        case .numeric: return 1700
        case .uuid: return 2950
        case .timestamp: return 1184
        case .json: return 3802
        case .bytea: return 17
        case .textArray: return 0
        }
    }

    /// PostgreSQL's text and JSON cannot hold NUL; libpq would cut a text value at the first one.
    var containsNUL: Bool {
        switch self {
        case .text(let s): return s.utf8.contains(0)
        case .json(let s): return s.utf8.contains(0) || s.contains("\\u0000")
        case .textArray(let values): return values.contains { $0?.utf8.contains(0) ?? false }
        default: return false
        }
    }

    /// The value as it goes on the wire (nil for NULL), and whether that is binary.
    var wire: (bytes: [UInt8]?, binary: Bool) {
        switch self {
        case .null: return (nil, false)
        case .text(let s): return (Array(s.utf8), false)
        case .int(let i): return (Array(String(i).utf8), false)
        case .bool(let b): return (b ? [UInt8(ascii: "t")] : [UInt8(ascii: "f")], false)
        case .double(let d): return (Array(String(d).utf8), false)
        case .numeric(let d): return (Array(d.description.utf8), false)
        case .uuid(let u): return (Array(UUIDText.lowercased(u).utf8), false)
        case .timestamp(let date): return (Array(PostgresTimestamp.format(date).utf8), false)
        case .json(let s): return (Array(s.utf8), false)
        case .bytea(let bytes): return (bytes, true)
        case .textArray(let values): return (Self.arrayLiteral(values), false)
        }
    }

    /// `{"a","b\"c",NULL}`: every element quoted, quotes and backslashes escaped. Built as UTF-8
    /// bytes, an element at a time (copied whole when it needs no escape): both escaped characters
    /// are ASCII, and no byte of a multi-byte UTF-8 sequence is ASCII. Submits and settlements send
    /// arrays of thousands of elements, so this runs for every value they write.
    static func arrayLiteral(_ values: [String?]) -> [UInt8] {
        let quote = UInt8(ascii: "\"")
        let backslash = UInt8(ascii: "\\")
        var out: [UInt8] = []
        out.reserveCapacity(values.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
        out.append(UInt8(ascii: "{"))
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard let value else {
                out.append(contentsOf: "NULL".utf8)
                continue
            }
            out.append(quote)
            let utf8 = value.utf8
            if utf8.contains(where: { $0 == quote || $0 == backslash }) {
                for byte in utf8 {
                    if byte == quote || byte == backslash { out.append(backslash) }
                    out.append(byte)
                }
            } else {
                out.append(contentsOf: utf8)
            }
            out.append(quote)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

extension PostgresBind: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }

    public init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    public init(_ value: Int?) { self = value.map { .int($0) } ?? .null }
    public init(_ value: UUID?) { self = value.map { .uuid($0) } ?? .null }
    public init(_ value: Date?) { self = value.map { .timestamp($0) } ?? .null }
    public init(_ value: Bool?) { self = value.map { .bool($0) } ?? .null }
    public init(_ value: Decimal?) { self = value.map { .numeric($0) } ?? .null }
}
