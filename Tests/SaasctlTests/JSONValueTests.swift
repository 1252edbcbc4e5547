import Foundation
import Testing

@testable import Saasctl

/// `--json` prints the API's answer whole, in a stable form, and anything at all parses or is
/// refused without a trap.
@Suite struct JSONValueTests {
    @Test func prettyPrintingIsStableWithSortedKeys() throws {
        let value = try #require(JSONValue.parse(Array(#"{"b":[1,2.5,"x"],"a":{"z":null,"y":true},"c":{},"d":[]}"#.utf8)))
        #expect(
            value.pretty == """
                {
                  "a": {
                    "y": true,
                    "z": null
                  },
                  "b": [
                    1,
                    2.5,
                    "x"
                  ],
                  "c": {},
                  "d": []
                }
                """
        )
        #expect(String(decoding: value.compact, as: UTF8.self) == #"{"a":{"y":true,"z":null},"b":[1,2.5,"x"],"c":{},"d":[]}"#)
        #expect(JSONValue.parse(Array(value.pretty.utf8)) == value)
    }

    @Test func stringsAreEscapedSoTheOutputParsesAndCannotDriveATerminal() throws {
        let text = "quote\" backslash\\ newline\n esc\u{1B} csi\u{9B} nul\u{0} 日本 👍"
        let json = JSONValue.string(text).pretty
        #expect(!json.contains("\u{1B}") && !json.contains("\u{9B}") && !json.contains("\u{0}"))
        #expect(JSONValue.parse(Array(json.utf8)) == .string(text))
    }

    @Test func integersStayIntegers() {
        #expect(
            JSONValue.parse(Array("[1, -2, 9007199254740993, 1.5, 1e300]".utf8))
                == .array([1, -2, 9_007_199_254_740_993, .number(1.5), .number(1e300)])
        )
    }

    @Test func garbageIsNilNotATrap() {
        for text in ["", "{", "nul", "<html>", "{\"a\":}", String(repeating: "[", count: 100_000), "\u{FEFF}"] {
            _ = JSONValue.parse(Array(text.utf8))
        }
        #expect(JSONValue.parse(Array("<html>".utf8)) == nil)
        #expect(JSONValue.parse([0xFF, 0xFE]) == nil)
    }
}
