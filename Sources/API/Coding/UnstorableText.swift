import Foundation
import Shared

/// Text PostgreSQL cannot store — U+0000 (refused by `text` and `jsonb`) and unpaired UTF-16
/// surrogates (no Unicode scalar at all) — written in a JSON body as `\u0000`, `\ud800`, `\udc00`.
///
/// Found here, in the raw bytes and before decoding, for every route at once: Foundation's decoder
/// turns `\u0000` into a string that fails only at the database (a 500 that used to redo a whole
/// submit batch one job at a time), and refuses a lone surrogate as "not valid JSON" without a
/// field. Either way the client should get a 422 naming the field, as API.md asks, and the
/// database should never see the request. (Raw bytes of either are not valid UTF-8 or not valid
/// JSON and are 400s before this runs.)
enum UnstorableText {
    /// The path (`messages[0].content`, `metadata.a\u0000`) of the first string — value or key —
    /// holding such text; `""` when it is the body itself; nil when there is none.
    static func firstPath(_ data: Data) -> String? {
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard mayContain(bytes) else { return nil }
            return scan(bytes)
        }
    }

    /// A cheap first pass: is there any `\u0000` or `\uD8xx`–`\uDFxx` escape at all? (An escaped
    /// backslash before `u` is a false alarm the full scan sorts out.)
    private static func mayContain(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let count = bytes.count
        while i + 5 < count {
            if bytes[i] == backslash, bytes[i + 1] == UInt8(ascii: "u"), let value = hex4(bytes, i + 2), isUnstorable(value) {
                return true
            }
            i += 1
        }
        return false
    }

    private typealias Frame = JSONPath.Frame

    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var stack: [Frame] = []
        var expectingKey = false
        var i = 0
        func path(_ stack: [Frame]) -> String { JSONPath.describe(stack) }
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "{"):
                stack.append(.object(key: nil))
                expectingKey = true
            case UInt8(ascii: "["):
                stack.append(.array(index: 0))
                expectingKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
            case UInt8(ascii: ","):
                if case .array(let index)? = stack.last { stack[stack.count - 1] = .array(index: index + 1) } else { expectingKey = true }
            case UInt8(ascii: ":"):
                expectingKey = false
            case UInt8(ascii: "\""):
                let string = readString(bytes, from: i + 1)
                i = string.end
                if expectingKey, case .object = stack.last {
                    if string.unstorable {
                        var parents = stack
                        parents[parents.count - 1] = .object(key: string.text)
                        return path(parents)
                    }
                    stack[stack.count - 1] = .object(key: string.text)
                } else if string.unstorable {
                    return path(stack)
                }
            default:
                break
            }
            i += 1
        }
        return nil
    }

    /// Reads a string whose opening quote is just before `start`: its text (unstorable escapes
    /// kept as written, so a path can name them), whether it holds any, and its closing quote.
    private static func readString(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (text: String, unstorable: Bool, end: Int) {
        var text: [UInt8] = []
        var unstorable = false
        var j = start
        while j < bytes.count && bytes[j] != UInt8(ascii: "\"") {
            guard bytes[j] == backslash, j + 1 < bytes.count else {
                text.append(bytes[j])
                j += 1
                continue
            }
            let escape = bytes[j + 1]
            switch escape {
            case UInt8(ascii: "u"):
                guard let value = hex4(bytes, j + 2) else {
                    j += 2
                    continue
                }
                if (0xD800...0xDBFF).contains(value), j + 11 < bytes.count, bytes[j + 6] == backslash, bytes[j + 7] == UInt8(ascii: "u"),
                    let low = hex4(bytes, j + 8), (0xDC00...0xDFFF).contains(low)
                {
                    let scalar = 0x10000 + ((UInt32(value) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    text += Array(String(Character(Unicode.Scalar(scalar)!)).utf8)
                    j += 12
                } else if isUnstorable(value) {
                    unstorable = true
                    text += Array(String(decoding: bytes[j..<(j + 6)], as: UTF8.self).utf8)
                    j += 6
                } else {
                    text += Array(String(Character(Unicode.Scalar(UInt32(value))!)).utf8)
                    j += 6
                }
            default:
                let decoded: UInt8 =
                    switch escape {
                    case UInt8(ascii: "n"): 0x0A
                    case UInt8(ascii: "t"): 0x09
                    case UInt8(ascii: "r"): 0x0D
                    case UInt8(ascii: "b"): 0x08
                    case UInt8(ascii: "f"): 0x0C
                    default: escape
                    }
                text.append(decoded)
                j += 2
            }
        }
        return (String(decoding: text, as: UTF8.self), unstorable, j)
    }

    private static let backslash = UInt8(ascii: "\\")

    private static func isUnstorable(_ value: UInt16) -> Bool { JSONEscape.isUnstorable(value) }

    private static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt16? { JSONEscape.hex4(bytes, at: at) }
}
