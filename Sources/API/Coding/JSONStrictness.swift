import Foundation

/// What Foundation's JSON decoder lets through or reports without a field, checked here so that
/// clients get API.md's answers: a trailing comma is not JSON (400), and a number that does not
/// fit an integer field is a 422 naming the field.
enum JSONStrictness {
    /// True when a `,` is directly followed (past white space) by `}` or `]`, outside strings.
    static func hasTrailingComma(_ data: Data) -> Bool {
        var inString = false
        var escaped = false
        var pendingComma = false
        for byte in data {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                continue
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if pendingComma { return true }
            case UInt8(ascii: "\""):
                inString = true
            default:
                break
            }
            pendingComma = byte == UInt8(ascii: ",")
        }
        return false
    }

    /// The path of the first number that is not a 64-bit integer literal (`credits`,
    /// `models[0].priority`), found by a single pass over the text — numbers such as `1e400` that
    /// Foundation will not even parse included.
    static func firstNonIntegerNumber(_ data: Data) -> String? {
        typealias Frame = JSONPath.Frame
        let bytes = [UInt8](data)
        // Only objects are request bodies; anything else is left to the decoder's verdict.
        guard bytes.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "{") else { return nil }
        var stack: [Frame] = []
        var expectingKey = false
        var i = 0
        func path() -> String { JSONPath.describe(stack) }
        while i < bytes.count {
            let byte = bytes[i]
            switch byte {
            case UInt8(ascii: "{"):
                stack.append(.object(key: nil))
                expectingKey = true
            case UInt8(ascii: "["):
                stack.append(.array(index: 0))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
            case UInt8(ascii: ","):
                if case .array(let index)? = stack.last { stack[stack.count - 1] = .array(index: index + 1) } else { expectingKey = true }
            case UInt8(ascii: ":"):
                expectingKey = false
            case UInt8(ascii: "\""):
                var j = i + 1
                var raw: [UInt8] = []
                while j < bytes.count && bytes[j] != UInt8(ascii: "\"") {
                    if bytes[j] == UInt8(ascii: "\\") { j += 1 }
                    if j < bytes.count { raw.append(bytes[j]) }
                    j += 1
                }
                if expectingKey, case .object = stack.last { stack[stack.count - 1] = .object(key: String(decoding: raw, as: UTF8.self)) }
                i = j
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                var j = i
                while j < bytes.count, let c = Optional(bytes[j]),
                    c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
                        || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                {
                    j += 1
                }
                let literal = String(decoding: bytes[i..<j], as: UTF8.self)
                if Int64(literal) == nil, Double(literal) != nil || literal.contains("e") || literal.contains("E") {
                    let found = path()
                    if !found.isEmpty { return found }
                }
                i = j - 1
            default:
                break
            }
            i += 1
        }
        return nil
    }
}
