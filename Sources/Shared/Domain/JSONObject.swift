import Foundation
public import Postgres

/// A JSON value kept as it came (metadata, job requests and results): decoded without loss and
/// encoded back the same, so that the service stores what clients send without modelling it.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case integer(Int)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// `Decoder` cannot say which kind of value comes next, so each kind is tried in turn, and
    /// every miss costs a thrown `DecodingError` with its description built. Strings and objects
    /// are most of what requests and answers hold (a message is an object of strings), so they
    /// are tried first. The kinds cannot be mistaken for one another (a number is never a
    /// `String`, a `Bool` never a number), except that an integral number is an `Int` before it
    /// is a `Double`. When nothing fits, the object's error is the one thrown: what a value that
    /// cannot be decoded (a number past `Double`, nested or not) reports. It is kept, never
    /// decoded again: decoding an object twice at every level of nesting would cost 2^depth.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
            return
        }
        if let string = try? container.decode(String.self) {
            self = .string(string)
            return
        }
        let objectError: any Error
        do {
            self = .object(try container.decode([String: JSONValue].self))
            return
        } catch {
            objectError = error
        }
        if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let int = try? container.decode(Int.self) {
            self = .integer(int)
        } else if let double = try? container.decode(Double.self) {
            self = .number(double)
        } else {
            throw objectError
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let d): try container.encode(d)
        case .integer(let i): try container.encode(i)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }
}

/// A JSON object (`metadata`).
public typealias JSONObject = [String: JSONValue]

/// Compact JSON text with sorted keys: stable for the same value, so it serves for `jsonb`
/// parameters, size estimates and request fingerprints alike.
public enum JSONText {
    public static func encode<T: Encodable>(_ value: T) -> String {
        // The values requests carry most (messages, metadata) take the direct writer, which
        // writes the same text (``JSONValueText``).
        if let value = value as? JSONValue { return JSONValueText.text(of: value) ?? "null" }
        if let object = value as? [String: JSONValue] { return JSONValueText.text(of: object) ?? "null" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "null"
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    /// The object as compact JSON text, for a `jsonb` parameter.
    public func jsonText() -> String {
        JSONText.encode(self)
    }

    /// Parses a `jsonb` column.
    public static func fromJSON(_ json: PostgresJSON?) -> JSONObject {
        guard case .object(let object)? = json?.value else { return [:] }
        return object
    }
}

extension String {
    /// The text as PostgreSQL can store it: U+0000 (which `text` and `jsonb` refuse) becomes
    /// U+FFFD. For text from upstreams, which is cleaned rather than refused (SYSTEM.md, 11).
    public var storable: String {
        guard utf8.contains(0) else { return self }
        return String(String.UnicodeScalarView(unicodeScalars.map { $0.value == 0 ? "\u{FFFD}" : $0 }))
    }
}

extension JSONValue {
    /// The value as PostgreSQL can store it: U+0000 in strings and keys becomes U+FFFD, and
    /// numbers JSON cannot spell (infinities, NaN) become null.
    public var storable: JSONValue {
        switch self {
        case .null, .bool, .integer: return self
        case .number(let d): return d.isFinite ? self : .null
        case .string(let s): return .string(s.storable)
        case .array(let a): return .array(a.map(\.storable))
        case .object(let o):
            var out: [String: JSONValue] = [:]
            for (key, value) in o { out[key.storable] = value.storable }
            return .object(out)
        }
    }
}

/// A job's metadata bound: at most 16 KiB of compact JSON (API.md), measured the one way
/// everywhere — at submit, on a merge (`PATCH …/metadata`, `complete`) — so a job accepted once
/// is never refused later for the same metadata.
public enum JobMetadata {
    public static let maxBytes = 16 * 1024

    public static func fits(_ metadata: JSONObject) -> Bool {
        metadata.jsonText().utf8.count <= maxBytes
    }

    /// `base` with `patch`'s top-level keys replacing its own (a shallow merge, as jsonb's `||`).
    public static func merged(_ base: JSONObject, _ patch: JSONObject) -> JSONObject {
        base.merging(patch) { _, new in new }
    }
}
