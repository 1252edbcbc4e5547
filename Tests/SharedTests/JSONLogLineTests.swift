import Foundation
import Logging
import Testing

@testable import Telemetry

@Suite("JSON log lines (LOG_FORMAT=json)")
struct JSONLogLineTests {
    private func decode(_ line: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test("a line holds timestamp, level, label, message, metadata and source")
    func fields() throws {
        let line = JSONLogLine.make(
            timestamp: "2026-01-02T03:04:05.678Z",
            level: .warning,
            label: "saas-api",
            message: "not ready",
            metadata: ["store": "redis", "count": .stringConvertible(3), "nested": ["a": ["x", "y"]]],
            source: "API"
        )
        #expect(
            line
                == #"{"timestamp":"2026-01-02T03:04:05.678Z","level":"warning","label":"saas-api","message":"not ready","metadata":{"count":"3","nested":{"a":["x","y"]},"store":"redis"},"source":"API"}"#
        )
        let object = try decode(line)
        #expect(object["level"] as? String == "warning")
        #expect((object["metadata"] as? [String: Any])?["store"] as? String == "redis")
    }

    @Test("quotes, backslashes, every control character, DEL, U+2028 and U+2029 are escaped; the rest is kept")
    func escaping() throws {
        #expect(JSONLogLine.quoted(#"say "hi" \ bye"#) == #""say \"hi\" \\ bye""#)
        #expect(JSONLogLine.quoted("a\nb\rc\td\u{08}e\u{0C}f") == #""a\nb\rc\td\be\ff""#)
        #expect(JSONLogLine.quoted("\u{00}\u{01}\u{1F}\u{7F}") == #""\u0000\u0001\u001f\u007f""#)
        #expect(JSONLogLine.quoted("line\u{2028}para\u{2029}end") == #""line\u2028para\u2029end""#)
        #expect(JSONLogLine.quoted("é ü 日本 🎉 e\u{301}") == "\"é ü 日本 🎉 e\u{301}\"")
        #expect(JSONLogLine.quoted("") == #""""#)

        // Every scalar below U+0080 and the two separators round-trip through a JSON parser, and
        // the line stays one line.
        var hostile = String(String.UnicodeScalarView((0..<0x80).compactMap(Unicode.Scalar.init)))
        hostile += "\u{2028}\u{2029}\u{FEFF}"
        let line = JSONLogLine.make(
            timestamp: "2026-01-02T03:04:05.678Z",
            level: .info,
            label: hostile,
            message: hostile,
            metadata: [hostile: .string(hostile)],
            source: hostile
        )
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{2028}") && !line.contains("\u{2029}"))
        #expect(line.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F })
        struct Line: Decodable {
            var label: String
            var message: String
            var metadata: [String: String]
            var source: String
        }
        let decoded = try JSONDecoder().decode(Line.self, from: Data(line.utf8))
        #expect(Array(decoded.message.unicodeScalars) == Array(hostile.unicodeScalars))
        #expect(Array(decoded.label.unicodeScalars) == Array(hostile.unicodeScalars))
        #expect(Array(decoded.source.unicodeScalars) == Array(hostile.unicodeScalars))
        #expect(decoded.metadata.values.map { Array($0.unicodeScalars) } == [Array(hostile.unicodeScalars)])
    }

    @Test("an event without metadata has no metadata field; an error is written as text")
    func optionalFields() throws {
        struct Failure: Error, CustomStringConvertible { var description: String { "boom \"x\"" } }
        let line = JSONLogLine.make(
            timestamp: "t",
            level: .error,
            label: "l",
            message: "m",
            metadata: [:],
            source: "s",
            error: Failure()
        )
        let object = try decode(line)
        #expect(object["metadata"] == nil)
        #expect(object["error"] as? String == "boom \"x\"")
    }

    @Test("timestamps are RFC 3339 in UTC with milliseconds")
    func timestamps() {
        #expect(RFC3339.format(seconds: 0, milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(seconds: 1_767_323_045, milliseconds: 7) == "2026-01-02T03:04:05.007Z")
        let now = RFC3339.now()
        #expect(now.count == 24 && now.hasSuffix("Z"))
    }

    @Test("the handler keeps the level, and its metadata under the event's")
    func handler() {
        var handler = LogFormat.json.handler(label: "x", level: .debug)
        #expect(handler.logLevel == .debug)
        handler[metadataKey: "a"] = "1"
        #expect(handler[metadataKey: "a"] == "1")
        #expect(LogFormat.text.handler(label: "x", level: .error).logLevel == .error)
    }
}
