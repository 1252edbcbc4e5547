import DocumentFixtures
import Foundation
import Testing

@testable import Shared

/// ``JSONValueReader`` must read what `JSONDecoder` reads into a ``JSONValue``, and refuse what it
/// refuses: an upstream's answer read differently would bill or store something else, and a text
/// one accepts and the other refuses would settle a job differently depending on the path.
@Suite("JSONValueReader: JSONDecoder's values, read directly")
struct JSONValueReaderTests {
    private static func decoderValue(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// Whether the two read `bytes` alike. The reader's two deliberate differences (its
    /// documentation) are allowed: numbers are compared to `Double`'s precision, and a text
    /// `JSONDecoder` takes for UTF-16 or UTF-32 (a byte order mark of those, or a NUL in the first
    /// two bytes) must be refused.
    private static func expectSame(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let direct = JSONValueReader.value(Data(bytes))
        let decoder = Self.decoderValue(bytes)
        let same: Bool
        if Self.looksWide(bytes) {
            same = direct == nil
        } else if let direct, let decoder {
            same = Self.alike(direct, decoder)
        } else {
            same = direct == nil && decoder == nil
        }
        #expect(
            same,
            "\(String(decoding: bytes, as: UTF8.self).debugDescription): \(String(describing: direct)) against \(String(describing: decoder))",
            sourceLocation: sourceLocation
        )
        return same
    }

    private static func looksWide(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) || bytes.prefix(2).contains(0)
    }

    private static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let integer): Double(integer)
        case .number(let number): number
        default: nil
        }
    }

    /// Equal, numbers compared by value.
    private static func alike(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.integer, .integer), (.integer, .number), (.number, .integer), (.number, .number):
            // Past 2^53 a `Double` cannot tell neighbouring integers apart, and JSONDecoder's `Int`
            // reading of such a number with a fraction or exponent may land a unit or two away.
            guard let x = number(a), let y = number(b) else { return false }
            return x == y || (abs(x) >= 0x1p53 && abs(x - y) <= 2 * max(x.ulp, y.ulp))
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { alike($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { alike(value, $0) } ?? false }
        default:
            return a == b
        }
    }

    @Test("named texts: numbers, escapes, commas, duplicates, whitespace and what is not JSON")
    func namedTexts() {
        let texts = [
            // Numbers: integral ones (whatever their spelling) are integers when they fit.
            "0", "-0", "1", "-1", "1.0", "-0.0", "0.0", "1e2", "1E+2", "2.5e3", "1e18", "1e19", "1.5", "-2.75", "1e-7",
            "1e-400", "1E400", "-1e400", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
            "-9223372036854775809", "12345678901234567890", "9.3e18", "-9.223372036854775808e18", "0.1", "5e-324",
            "1.7976931348623157e308", "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "1_000", "Infinity", "NaN",
            "123abc", "00", "-.5",
            // Literals.
            "true", "false", "null", "tru", "nul", "True", "nulll", "[true,false,null]",
            // Strings and escapes.
            #""""#, #""a""#, #""\u0000""#, #""\ud800""#, #""\udc00""#, #""\ud83d\ude00""#, #""\ud83d\u0041""#, #""\ud83dx""#,
            #""\u00e9\u00E9""#, #""\/""#, #""\b\f\n\r\t\"\\""#, #""\x""#, #""\u12""#, #""\u12G4""#, "\"a\u{01}b\"", "\"\t\"",
            "\"a\u{7F}b\"", #""é😀""#, #""unterminated"#, #""\"#,
            // Structure.
            "[]", "{}", "[1,]", "{\"a\":1,}", "[,]", "{,}", "[1,,2]", "[1 2]", "{\"a\" 1}", "{\"a\":}", "{a:1}", "{\"a\":1 \"b\":2}",
            "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":[1,{\"c\":null}]},\"d\":\"e\"}", "[[[]]]", "[", "]", "{", "}", "[1]]", "{}}",
            // Whitespace and what follows the value.
            " 1 ", "\n\t\r [ 1 , 2 ] \n", "", " ", "[]x", "1 2", "\u{0C}1", "\u{A0}1", "// c\n1", "[1]\u{00}",
        ]
        for text in texts { _ = Self.expectSame(Array(text.utf8)) }
    }

    @Test("bytes that are not UTF-8, a byte order mark, encoded surrogates")
    func rawBytes() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22], [0x22, 0xC3, 0xA9, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0xEF, 0xBB, 0xBF, 0x31], [0xEF, 0xBB, 0xBF], [0xEF, 0xBB, 0x31], [0x5B, 0x31, 0x5D, 0xFF],
            // UTF-16, which JSONDecoder converts and this refuses.
            [0xFE, 0xFF, 0x00, 0x31], [0xFF, 0xFE, 0x31, 0x00], [0x00, 0x31], [0x31, 0x00], Array("{\"é\":\"\\u00e9\"}".utf8),
        ]
        for bytes in cases { _ = Self.expectSame(bytes) }
    }

    @Test("nesting: 512 levels are read, 513 refused, as JSONDecoder does; far deeper costs no stack")
    func depth() {
        for depth in [1, 511, 512, 513, 600] {
            _ = Self.expectSame(Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8))
            _ = Self.expectSame(Array((String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)).utf8))
        }
        // A hostile answer nested a million deep is refused at the limit, not by running out of stack.
        #expect(JSONValueReader.value(Data(String(repeating: "[", count: 1_000_000).utf8)) == nil)
    }

    @Test("2,000 generated values, written by JSONEncoder, read back the same")
    func generatedValues() throws {
        var random = SplitMix64(seed: 0x5245_4144)
        for _ in 0..<2_000 {
            let value = JSONValueTextTests.value(depth: 0, &random)
            guard Self.expectSame(Array(try JSONEncoder().encode(value))) else { return }
        }
    }

    @Test("20,000 damaged texts: each byte dropped, doubled or replaced, read or refused alike")
    func damagedTexts() throws {
        var random = SplitMix64(seed: 0x4441_4D47)
        let pieces = Array(#"{}[],:"\ -+.0123456789eEtrufalsn/bxu"#.utf8) + [0x00, 0x09, 0x0A, 0x1F, 0x7F, 0xC3, 0xA9, 0xED, 0xFF]
        for _ in 0..<2_000 {
            let text = Array(try JSONEncoder().encode(JSONValueTextTests.value(depth: 0, &random)))
            for _ in 0..<10 {
                var bytes = text
                let at = random.next(in: 0...bytes.count)
                switch random.next(in: 0...2) {
                case 0 where at < bytes.count: bytes.remove(at: at)
                case 1 where at < bytes.count: bytes.insert(bytes[at], at: at)
                default: bytes.insert(pieces[random.next(in: 0...(pieces.count - 1))], at: at)
                }
                guard Self.expectSame(bytes) else { return }
            }
        }
    }
}
