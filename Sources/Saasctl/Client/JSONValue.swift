import Foundation

/// A JSON document as the API sent it, kept whole so that `--json` prints every field — known or
/// not — and tables pick theirs by path. Integers stay integers (credits, counts); other numbers
/// are doubles.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Decodes bytes; nil when they are not JSON (or nest deeper than Foundation's decoder allows).
    static func parse(_ bytes: some Collection<UInt8>) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// Pretty-printed (two spaces, `"key": value`) with sorted keys: the same answer prints the
    /// same text on every platform, for scripts and diffs.
    var pretty: String {
        var out = ""
        write(into: &out, indent: 0, pretty: true)
        return out
    }

    /// Compact, with sorted keys (request bodies, hashes).
    var compact: Data {
        var out = ""
        write(into: &out, indent: 0, pretty: false)
        return Data(out.utf8)
    }

    private func write(into out: inout String, indent: Int, pretty: Bool) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .integer(let value): out += String(value)
        case .number(let value): out += value.isFinite ? "\(value)" : "null"
        case .string(let value): Self.quote(value, into: &out)
        case .array(let items):
            guard !items.isEmpty else {
                out += "[]"
                return
            }
            out += "["
            for (index, item) in items.enumerated() {
                out += index == 0 ? "" : ","
                if pretty { out += "\n" + String(repeating: " ", count: indent + 2) }
                item.write(into: &out, indent: indent + 2, pretty: pretty)
            }
            out += pretty ? "\n" + String(repeating: " ", count: indent) + "]" : "]"
        case .object(let fields):
            guard !fields.isEmpty else {
                out += "{}"
                return
            }
            out += "{"
            for (index, key) in fields.keys.sorted().enumerated() {
                out += index == 0 ? "" : ","
                if pretty { out += "\n" + String(repeating: " ", count: indent + 2) }
                Self.quote(key, into: &out)
                out += pretty ? ": " : ":"
                fields[key]!.write(into: &out, indent: indent + 2, pretty: pretty)
            }
            out += pretty ? "\n" + String(repeating: " ", count: indent) + "}" : "}"
        }
    }

    /// A JSON string literal: quote, backslash and control characters (C0, DEL and C1, which a
    /// terminal could act on) escaped, the rest as is.
    private static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// The value at a dotted path (`health.circuit_state`); nil when any step is missing.
    subscript(path path: String) -> JSONValue? {
        var current: JSONValue? = self
        for key in path.split(separator: ".") {
            guard case .object(let fields) = current else { return nil }
            current = fields[String(key)]
        }
        return current
    }

    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var intValue: Int? {
        switch self {
        case .integer(let value): value
        case .number(let value) where value.rounded() == value && abs(value) < 9e15: Int(value)
        default: nil
        }
    }

    var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    var objectValue: [String: JSONValue]? {
        if case .object(let fields) = self { return fields }
        return nil
    }
}

extension JSONValue: Decodable {
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .integer(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
}
