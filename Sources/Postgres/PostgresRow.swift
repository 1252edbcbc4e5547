public import Foundation
import UUIDText

/// The rows a statement returned, copied out of libpq's result by the task that ran it.
public struct PostgresRows: Sendable, Sequence {
    public let columns: [String]
    let values: [[String?]]
    private let index: [String: Int]
    /// Rows affected, from the command tag (`INSERT 0 3` → 3).
    public let affectedRows: Int

    init(columns: [String], values: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.values = values
        self.affectedRows = affectedRows
        var index: [String: Int] = [:]
        for (i, name) in columns.enumerated() where index[name] == nil { index[name] = i }
        self.index = index
    }

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }
    public var first: PostgresRow? { values.isEmpty ? nil : row(0) }

    public func makeIterator() -> some IteratorProtocol<PostgresRow> {
        (0..<values.count).lazy.map { self.row($0) }.makeIterator()
    }

    func row(_ i: Int) -> PostgresRow { PostgresRow(rows: self, number: i) }

    func columnIndex(_ name: String) -> Int? { index[name] }
}

/// One row; columns are read by name and decoded from PostgreSQL's text format.
public struct PostgresRow: Sendable {
    let rows: PostgresRows
    let number: Int

    /// The raw text of a column, nil for NULL.
    public func text(_ column: String) throws(PostgresError) -> String? {
        guard let i = rows.columnIndex(column) else { throw .missingColumn(column) }
        return rows.values[number][i]
    }

    /// Decodes a column that must not be NULL.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws(PostgresError) -> T {
        let raw = try text(column)
        guard let raw, let value = T(postgresText: raw) else {
            throw .decoding(column: column, type: String(describing: T.self), value: raw)
        }
        return value
    }

    /// Decodes a column that may be NULL.
    public func decodeIfPresent<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws(PostgresError) -> T? {
        guard let raw = try text(column) else { return nil }
        guard let value = T(postgresText: raw) else {
            throw .decoding(column: column, type: String(describing: T.self), value: raw)
        }
        return value
    }
}

/// A Swift type that can be read from a column's text representation.
public protocol PostgresDecodable: Sendable {
    init?(postgresText: String)
}

extension String: PostgresDecodable {
    public init?(postgresText: String) { self = postgresText }
}

extension Int: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Int32: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Double: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Bool: PostgresDecodable {
    public init?(postgresText: String) {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}

extension Decimal: PostgresDecodable {
    /// PostgreSQL writes numerics with a dot whatever the server's locale.
    private static let posix = Locale(identifier: "en_US_POSIX")

    public init?(postgresText: String) {
        guard let value = Decimal(string: postgresText, locale: Self.posix) else { return nil }
        self = value
    }
}

extension UUID: PostgresDecodable {
    public init?(postgresText: String) {
        guard let uuid = UUIDText.parse(postgresText) else { return nil }
        self = uuid
    }
}

extension Date: PostgresDecodable {
    public init?(postgresText: String) {
        guard let date = PostgresTimestamp.parse(postgresText) else { return nil }
        self = date
    }
}

/// A `json`/`jsonb` column's document, as UTF-8 bytes ready for `JSONDecoder`.
public struct PostgresJSON: PostgresDecodable, Hashable {
    public var bytes: [UInt8]
    public init?(postgresText: String) { self.bytes = Array(postgresText.utf8) }
    public var data: Data { Data(bytes) }
}

/// A `bytea` column, from its hex text form (`\x0a1b…`).
public struct PostgresBytes: PostgresDecodable, Hashable {
    public var bytes: [UInt8]
    public init?(postgresText: String) {
        let utf8 = Array(postgresText.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else {
            return nil
        }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var i = 2
        while i < utf8.count {
            guard let high = nibble(utf8[i]), let low = nibble(utf8[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
            i += 2
        }
        self.bytes = bytes
    }
}
