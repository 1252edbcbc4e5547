import Foundation

/// One column of a list: its title and where its value is in each item (a dotted JSON path).
struct Field: Sendable {
    enum Kind: Sendable {
        case text
        /// Aligned right.
        case number
        /// An RFC 3339 timestamp, shown to the second without its `T` and `Z`.
        case time
        /// Only the first 8 characters (UUIDs: enough to tell rows apart; `--json` has them whole).
        case shortID
    }

    var title: String
    var path: String
    var kind: Kind
    var maxWidth: Int

    init(_ title: String, _ path: String, _ kind: Kind = .text, maxWidth: Int = 40) {
        self.title = title
        self.path = path
        self.kind = kind
        self.maxWidth = maxWidth
    }

    var column: Table.Column { Table.Column(title, rightAligned: kind == .number, maxWidth: maxWidth) }

    /// The cell of this column for one item.
    func cell(_ item: JSONValue) -> String {
        let value = item[path: path]
        switch kind {
        case .time: return value?.stringValue.map(Self.shortTime) ?? Cell.text(value)
        case .shortID: return value?.stringValue.map { String($0.prefix(8)) } ?? Cell.text(value)
        default: return Cell.text(value)
        }
    }

    /// `2026-11-26T18:47:10.266Z` → `2026-11-26 18:47:10`.
    static func shortTime(_ text: String) -> String {
        guard text.count >= 19, text.dropFirst(10).first == "T" else { return text }
        return text.prefix(10) + " " + text.dropFirst(11).prefix(8)
    }
}

/// How a JSON value reads in a cell.
enum Cell {
    static func text(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: "-"
        case .bool(let flag)?: flag ? "yes" : "no"
        case .integer(let number)?: String(number)
        case .number(let number)?: number.formatted()
        case .string(let text)?: text
        case .array(let items)?:
            items.allSatisfy(\.isScalar) ? items.map { text($0) }.joined(separator: ", ") : "[\(items.count) items]"
        case .object(let fields)?: fields.isEmpty ? "{}" : String(decoding: JSONValue.object(fields).compact, as: UTF8.self)
        }
    }
}

extension Double {
    /// At most 6 decimals, trailing zeros dropped (money in USD, ages in seconds).
    func formatted() -> String {
        guard isFinite else { return String(self) }
        if self == rounded(), abs(self) < 1e15 { return String(Int(self)) }
        var text = String(format: "%.6f", self)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}

extension JSONValue {
    var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }
}
