/// A ``JSONValue`` written as compact JSON text directly, byte for byte what `JSONEncoder` with
/// `.sortedKeys` writes for it: keys in the order of their UTF-8 bytes, `/` written `\/`, `"`,
/// `\`, `\b`, `\f`, `\n`, `\r`, `\t` escaped and every other control character as `\u00xx`,
/// integers as they are and doubles as their description without a trailing `.0`.
///
/// `JSONEncoder` boxes every value into a tree of its own and sorts each object's keys with
/// `String` comparisons before it writes a byte; a submit pays that for every message it sizes
/// (``Billing/estimatePromptTokens(messages:tools:)``) and for its metadata, several times the
/// cost of writing the bytes. `JSONValueTextTests` holds this writer to `JSONEncoder`'s output.
public enum JSONValueText {
    /// The text, or nil when the value holds a number JSON cannot spell (an infinity or NaN),
    /// which `JSONEncoder` refuses.
    static func text(of value: JSONValue) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        guard write(value, into: &bytes) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// An object's text (`[String: JSONValue]`, as metadata is kept), or nil as above.
    static func text(of object: [String: JSONValue]) -> String? {
        bytes(of: object).map { String(decoding: $0, as: UTF8.self) }
    }

    /// An object's text as bytes (a request body an upstream is sent), or nil as above.
    public static func bytes(of object: [String: JSONValue]) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        guard writeObject(object, into: &bytes) else { return nil }
        return bytes
    }

    private static func write(_ value: JSONValue, into bytes: inout [UInt8]) -> Bool {
        switch value {
        case .null:
            bytes.append(contentsOf: "null".utf8)
        case .bool(let flag):
            bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let integer):
            bytes.append(contentsOf: String(integer).utf8)
        case .number(let number):
            guard number.isFinite else { return false }
            var text = number.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            bytes.append(contentsOf: text.utf8)
        case .string(let string):
            writeQuoted(string, into: &bytes)
        case .array(let array):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                guard write(element, into: &bytes) else { return false }
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let object):
            return writeObject(object, into: &bytes)
        }
        return true
    }

    private static func writeObject(_ object: [String: JSONValue], into bytes: inout [UInt8]) -> Bool {
        bytes.append(UInt8(ascii: "{"))
        let keys = object.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for (index, key) in keys.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            writeQuoted(key, into: &bytes)
            bytes.append(UInt8(ascii: ":"))
            guard write(object[key]!, into: &bytes) else { return false }
        }
        bytes.append(UInt8(ascii: "}"))
        return true
    }

    private static func escaped(_ byte: UInt8, into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(byte)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func writeQuoted(_ string: String, into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): escaped(UInt8(ascii: "\""), into: &bytes)
            case UInt8(ascii: "\\"): escaped(UInt8(ascii: "\\"), into: &bytes)
            case UInt8(ascii: "/"): escaped(UInt8(ascii: "/"), into: &bytes)
            case 0x08: escaped(UInt8(ascii: "b"), into: &bytes)
            case 0x0C: escaped(UInt8(ascii: "f"), into: &bytes)
            case 0x0A: escaped(UInt8(ascii: "n"), into: &bytes)
            case 0x0D: escaped(UInt8(ascii: "r"), into: &bytes)
            case 0x09: escaped(UInt8(ascii: "t"), into: &bytes)
            case 0x00..<0x20:
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hexDigits[Int(byte >> 4)])
                bytes.append(hexDigits[Int(byte & 0x0F)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
