public import Foundation

/// Decodes a `Decodable` from JSON text through ``JSONValueReader`` and a `Decoder` over the
/// ``JSONValue`` it reads, for the documents read on a hot path: a claimed job's request, read for
/// every job a worker runs, cost ~13 µs through `JSONDecoder` (`saas-bench codecs`; ~5 µs here) —
/// near a tenth of the worker's CPU in issue 13's end-to-end profile, most of it the messages, each a
/// `JSONValue` that `JSONDecoder` can only find the kind of by throwing. Here a `JSONValue` member
/// is the node already read.
///
/// Values decode as `JSONDecoder` decodes them, and fail with the same errors at the same paths
/// (`JSONValueDecoderTests`): a missing key is `keyNotFound`, `null` where a value must be is
/// `valueNotFound`, a wrong kind `typeMismatch`, an optional member missing or `null` is nil, a
/// number decodes as any integer type it fits exactly and as `Double` or `Float`. One difference:
/// a number that does not fit its integer type is `dataCorrupted` at its own path, where
/// `JSONDecoder` reports it at the root. `Decimal`, `Date`, `Data` and `URL`, which `JSONDecoder`
/// reads by strategies of its own, are refused with ``UnsupportedType``, for the caller to hand
/// such a document to `JSONDecoder` (the API's `StrictJSONDecoder` does).
public struct JSONValueDecoder: Sendable {
    /// A type `JSONDecoder` decodes by a strategy of its own (`Decimal` from the number's exact
    /// text, `Date`, `Data`, `URL`): refused here rather than decoded another way, so that a
    /// caller can hand such a document to `JSONDecoder`.
    public struct UnsupportedType: Error {
        public let name: String
    }

    /// The underlying error of the `dataCorrupted` thrown for a number that does not fit the
    /// integer type asked for.
    public struct NumberOutOfRange: Error {}

    public init() {}

    /// The value the text holds, decoded as `type`.
    public func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        guard let value = JSONValueReader.value(data) else {
            throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: "The given data was not valid JSON."))
        }
        return try decode(type, from: value)
    }

    /// `value` decoded as `type`.
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try ValueDecoder(value: value, codingPath: []).decodeValue(T.self)
    }
}

/// One node and where it is.
private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw Node.mismatch([String: Any].self, value, codingPath) }
        return KeyedDecodingContainer(KeyedContainer<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw Node.mismatch([Any].self, value, codingPath) }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(value: value, codingPath: codingPath)
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        // The node itself: no kind to find by trying each.
        if T.self == JSONValue.self { return value as! T }
        if T.self == Decimal.self || T.self == Date.self || T.self == Data.self || T.self == URL.self {
            throw JSONValueDecoder.UnsupportedType(name: "\(T.self)")
        }
        return try T(from: self)
    }
}

/// The conversions every container shares.
private enum Node {
    /// A value of the wrong kind: `valueNotFound` for `null`, `typeMismatch` for anything else,
    /// as `JSONDecoder` says.
    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        if value == .null {
            return DecodingError.valueNotFound(
                type,
                DecodingError.Context(codingPath: path, debugDescription: "Cannot get \(type) -- found null value instead")
            )
        }
        return DecodingError.typeMismatch(
            type,
            DecodingError.Context(codingPath: path, debugDescription: "Expected to decode \(type) but found \(kind(value)) instead.")
        )
    }

    private static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "bool"
        case .integer, .number: "number"
        case .string: "a string"
        case .array: "an array"
        case .object: "a dictionary"
        }
    }

    static func bool(_ value: JSONValue, _ path: [any CodingKey]) throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch(Bool.self, value, path) }
        return flag
    }

    static func string(_ value: JSONValue, _ path: [any CodingKey]) throws -> String {
        guard case .string(let text) = value else { throw mismatch(String.self, value, path) }
        return text
    }

    static func double(_ value: JSONValue, _ path: [any CodingKey]) throws -> Double {
        switch value {
        case .integer(let integer): return Double(integer)
        case .number(let number): return number
        default: throw mismatch(Double.self, value, path)
        }
    }

    /// An integer type from a number it holds exactly (`JSONDecoder` reads `1.0` as `1`).
    static func integer<T: BinaryInteger>(_ type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> T {
        let exact: T?
        switch value {
        case .integer(let integer): exact = T(exactly: integer)
        case .number(let number): exact = T(exactly: number)
        default: throw mismatch(T.self, value, path)
        }
        guard let exact else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: path,
                    debugDescription: "Number \(value) does not fit in \(T.self).",
                    underlyingError: JSONValueDecoder.NumberOutOfRange()
                )
            )
        }
        return exact
    }

    static func decode<T: Decodable>(_ type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> T {
        try ValueDecoder(value: value, codingPath: path).decodeValue(T.self)
    }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try Node.bool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try Node.string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try Node.double(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try Node.double(value, codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try Node.integer(type, value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try Node.integer(type, value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try Node.integer(type, value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try Node.integer(type, value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try Node.integer(type, value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try Node.integer(type, value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try Node.integer(type, value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try Node.integer(type, value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try Node.integer(type, value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try Node.integer(type, value, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try Node.decode(type, value, codingPath) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key,
                DecodingError.Context(codingPath: codingPath, debugDescription: "No value associated with key \(key.stringValue).")
            )
        }
        return value
    }

    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try Node.bool(member(key), path(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try Node.string(member(key), path(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try Node.double(member(key), path(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try Node.double(member(key), path(key))) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try Node.integer(type, member(key), path(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try Node.integer(type, member(key), path(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try Node.integer(type, member(key), path(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try Node.integer(type, member(key), path(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try Node.integer(type, member(key), path(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try Node.integer(type, member(key), path(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try Node.integer(type, member(key), path(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try Node.integer(type, member(key), path(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try Node.integer(type, member(key), path(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try Node.integer(type, member(key), path(key)) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try Node.decode(type, member(key), path(key)) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: member(key), codingPath: path(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: member(key), codingPath: path(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: .object(members), codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: members[key.stringValue] ?? .null, codingPath: path(key))
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private struct Index: CodingKey {
        let intValue: Int?
        var stringValue: String { "Index \(intValue ?? 0)" }
        init(_ index: Int) { intValue = index }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { self.intValue = intValue }
    }

    /// The next element and its path, moving past it.
    private mutating func next<T>(_ type: T.Type) throws -> (JSONValue, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type,
                DecodingError.Context(codingPath: codingPath + [Index(currentIndex)], debugDescription: "Unkeyed container is at end.")
            )
        }
        defer { currentIndex += 1 }
        return (elements[currentIndex], codingPath + [Index(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        let (value, path) = try next(type)
        return try Node.bool(value, path)
    }
    mutating func decode(_ type: String.Type) throws -> String {
        let (value, path) = try next(type)
        return try Node.string(value, path)
    }
    mutating func decode(_ type: Double.Type) throws -> Double {
        let (value, path) = try next(type)
        return try Node.double(value, path)
    }
    mutating func decode(_ type: Float.Type) throws -> Float {
        let (value, path) = try next(type)
        return Float(try Node.double(value, path))
    }
    mutating func decode(_ type: Int.Type) throws -> Int {
        let (value, path) = try next(type)
        return try Node.integer(type, value, path)
    }
    mutating func decode(_ type: Int8.Type) throws -> Int8 {
        let (value, path) = try next(type)
        return try Node.integer(type, value, path)
    }
    mutating func decode(_ type: Int16.Type) throws -> Int16 {
        let (value, path) = try next(type)
        return try Node.integer(type, value, path)
    }
    mutating func decode(_ type: Int32.Type) throws -> Int32 {
        let (value, path) = try next(type)
        return try Node.integer(type, value, path)
    }
    mutating func decode(_ type: Int64.Type) throws -> Int64 {
        let (value, path) = try next(type)
        return try Node.integer(type, value, path)
    }
    mutating func decode(_ type: UInt.Type) throws -> UInt {
        let (value, path) = try next(type)
        return try Node.integer(type, value, path)
    }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 {
        let (value, path) = try next(type)
        return try Node.integer(type, value, path)
    }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 {
        let (value, path) = try next(type)
        return try Node.integer(type, value, path)
    }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 {
        let (value, path) = try next(type)
        return try Node.integer(type, value, path)
    }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 {
        let (value, path) = try next(type)
        return try Node.integer(type, value, path)
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, path) = try next(type)
        return try Node.decode(type, value, path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, path) = try next([String: Any].self)
        return try ValueDecoder(value: value, codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, path) = try next([Any].self)
        return try ValueDecoder(value: value, codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, path) = try next(JSONValue.self)
        return ValueDecoder(value: value, codingPath: path)
    }
}
