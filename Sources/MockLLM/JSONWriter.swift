import NIOCore

/// Writes JSON straight into a `ByteBuffer`.
///
/// The answers of the LLM routes have a fixed shape and are written at thousands per second by the
/// benchmarks; writing them by hand avoids building an `Encodable` tree and an encoder per answer,
/// and keeps the order of the keys stable (which makes the answers deterministic byte for byte,
/// apart from ids and timestamps).
struct JSONWriter {
    private(set) var buffer: ByteBuffer

    init(capacity: Int = 512) {
        self.buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// Text already in JSON form (punctuation, keys, literals).
    mutating func raw(_ text: StaticString) {
        self.buffer.writeStaticString(text)
    }

    /// Text already in JSON form, built at run time (e.g. a nested document).
    mutating func raw(_ text: String) {
        self.buffer.writeString(text)
    }

    /// A quoted, escaped JSON string.
    mutating func string(_ value: String) {
        self.buffer.writeInteger(UInt8(ascii: "\""))
        let utf8 = value.utf8
        if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            self.buffer.writeString(value)
        } else {
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): self.buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): self.buffer.writeStaticString("\\\\")
                case UInt8(ascii: "\n"): self.buffer.writeStaticString("\\n")
                case UInt8(ascii: "\r"): self.buffer.writeStaticString("\\r")
                case UInt8(ascii: "\t"): self.buffer.writeStaticString("\\t")
                case 0..<0x20:
                    self.buffer.writeStaticString("\\u00")
                    self.buffer.writeInteger(Self.hexDigit(byte >> 4))
                    self.buffer.writeInteger(Self.hexDigit(byte & 0x0F))
                default: self.buffer.writeInteger(byte)
                }
            }
        }
        self.buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// A string, or `null` when there is none.
    mutating func string(_ value: String?) {
        if let value { self.string(value) } else { self.raw("null") }
    }

    mutating func int(_ value: Int) {
        self.buffer.writeString(String(value))
    }

    /// A number; JSON has no infinities or NaN, they become `null`.
    mutating func number(_ value: Double) {
        if value.isFinite {
            self.buffer.writeString(String(value))
        } else {
            self.raw("null")
        }
    }

    mutating func bool(_ value: Bool) {
        self.raw(value ? "true" : "false")
    }

    /// Any JSON value; object members in key order, so the output is deterministic.
    mutating func value(_ value: JSONValue) {
        switch value {
        case .null: self.raw("null")
        case .bool(let flag): self.bool(flag)
        case .number(let number): self.number(number)
        case .string(let text): self.string(text)
        case .array(let elements):
            self.raw("[")
            for (index, element) in elements.enumerated() {
                if index > 0 { self.raw(",") }
                self.value(element)
            }
            self.raw("]")
        case .object(let members):
            self.raw("{")
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { self.raw(",") }
                self.string(key)
                self.raw(":")
                self.value(members[key]!)
            }
            self.raw("}")
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
