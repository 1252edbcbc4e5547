import DocumentFixtures
import Foundation
import Postgres
import Synchronization
import Testing

@testable import Shared

/// ``JSONValueText`` must write what `JSONEncoder` (`.sortedKeys`) writes, byte for byte: the
/// text is stored, fingerprinted for Idempotency-Keys and sized for reservations, so a byte of
/// difference would change what a job reserves or whether a replay matches.
@Suite("JSONValueText: JSONEncoder's bytes, written directly")
struct JSONValueTextTests {
    private static func encoderText<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "null"
    }

    @Test("keys sort by their UTF-8 bytes; escapes and numbers are spelled as JSONEncoder spells them")
    func namedCases() {
        let object: [String: JSONValue] = [
            "b": .integer(1), "B": .integer(2), "a": .integer(3), "_": .integer(4), "10": .integer(5), "9": .integer(6),
            "é": .integer(7), "e": .integer(8), "ß": .integer(9), "ss": .integer(10), "😀": .integer(11), "Ａ": .integer(12), "": .null,
            "text": .string("a/b\"c\\d\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F}\u{2028}é😀"),
            "numbers": .array([1.0, 1e20, 1e21, 1e-7, 0.1, -0.0, 5e-324, .greatestFiniteMagnitude, 123456789.125, 1e16, 1e15].map(JSONValue.number)),
            "integers": .array([Int.min, Int.max, 0, -5].map(JSONValue.integer)),
            "flags": .array([.bool(true), .bool(false), .null, .array([]), .object([:])]),
        ]
        #expect(JSONText.encode(object) == Self.encoderText(object))
        #expect(JSONText.encode(JSONValue.object(object)) == Self.encoderText(JSONValue.object(object)))
        #expect(JSONText.encode(JSONValue.string("x")) == #""x""#)
    }

    @Test("a number JSON cannot spell makes the whole text null, as JSONEncoder's refusal did")
    func nonFiniteNumbers() {
        for number in [Double.infinity, -.infinity, .nan] {
            let value = JSONValue.array([.string("kept"), .object(["n": .number(number)])])
            #expect(JSONText.encode(value) == "null")
            #expect(Self.encoderText(value) == "null")
        }
    }

    @Test("2,000 generated values: the same text as JSONEncoder")
    func generatedValues() {
        var random = SplitMix64(seed: 0x4A53_4F4E)
        for _ in 0..<2_000 {
            let value = Self.value(depth: 0, &random)
            let direct = JSONText.encode(value)
            let encoder = Self.encoderText(value)
            #expect(direct == encoder, "\(value)")
            if direct != encoder { return }
        }
    }

    @Test("an object nested 30 deep around a number past Double fails at once, naming the leaf, not by decoding each level twice")
    func deepUndecodableValue() async throws {
        let depth = 30
        let text = String(repeating: #"{"a":"#, count: depth) + "1e400" + String(repeating: "}", count: depth)
        // Decoding an object again to throw its error at every level took 2^depth decodes (a
        // hostile body would have held a thread for hours); the bound only turns such a
        // regression into a failure instead of a hung run.
        // The decode runs on a thread of its own, so that the wait can give up on it (a task
        // group would wait for its child however long the decode takes).
        let answer = FirstAnswer()
        let outcome: String? = await withCheckedContinuation { continuation in
            answer.waiting.withLock { $0 = continuation }
            Thread.detachNewThread {
                let result: String
                do {
                    _ = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
                    result = "decoded"
                } catch let DecodingError.typeMismatch(_, context) {
                    // As before the change: the leaf fits no kind, and the last tried, an object,
                    // names it.
                    result = "typeMismatch at depth \(context.codingPath.count)"
                } catch {
                    result = "\(error)"
                }
                answer.give(result)
            }
            Task {
                try? await Task.sleep(for: .seconds(60))
                answer.give(nil)
            }
        }
        #expect(outcome == "typeMismatch at depth \(depth)")
    }

    @Test("the expiry timestamp written digit by digit equals the printf spelling it replaced")
    func timestamps() {
        var random = SplitMix64(seed: 0x5449_4D45)
        var dates = [
            Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 0.9999996), Date(timeIntervalSince1970: -0.25),
            Date(timeIntervalSince1970: 253_402_300_799.999_999), Date(timeIntervalSince1970: -62_135_596_800),
        ]
        for _ in 0..<2_000 {
            dates.append(
                Date(
                    timeIntervalSince1970: Double(random.next(in: -2_000_000_000...4_000_000_000)) + Double(random.next(in: 0...999_999)) / 1_000_000
                )
            )
        }
        for date in dates {
            #expect(PostgresTimestamp.format(date) == Self.printfTimestamp(date), "\(date.timeIntervalSince1970)")
        }
    }

    /// The spelling `PostgresTimestamp.format` had, through `String(format:)`.
    private static func printfTimestamp(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = Int(interval.rounded(.down))
        var micros = Int(((interval - Double(seconds)) * 1_000_000).rounded())
        if micros >= 1_000_000 {
            seconds += 1
            micros -= 1_000_000
        }
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
            Int(parts.tm_year) + 1900,
            Int(parts.tm_mon) + 1,
            Int(parts.tm_mday),
            Int(parts.tm_hour),
            Int(parts.tm_min),
            Int(parts.tm_sec),
            micros
        )
    }

    static let alphabet: [String] = [
        "a", "b", "Z", "_", "0", "9", " ", "/", "\"", "\\", "\n", "\t", "\u{01}", "\u{1F}", "\u{7F}", "é", "ß", "\u{2028}", "😀", "Ａ", "e\u{301}",
    ]

    static func string(_ random: inout SplitMix64) -> String {
        (0..<random.next(in: 0...8)).map { _ in alphabet[random.next(in: 0...(alphabet.count - 1))] }.joined()
    }

    /// A random value of every kind (also what `JSONValueReaderTests` reads back).
    static func value(depth: Int, _ random: inout SplitMix64) -> JSONValue {
        switch random.next(in: depth > 3 ? 0...4 : 0...6) {
        case 0: return .null
        case 1: return .bool(random.next() % 2 == 0)
        case 2: return .integer(Int(bitPattern: UInt(random.next())) >> random.next(in: 0...63))
        case 3:
            let bits = random.next()
            let number = Double(bitPattern: bits)
            return .number(number.isFinite ? number : Double(random.next(in: -1_000_000...1_000_000)) / 64)
        case 4: return .string(string(&random))
        case 5: return .array((0..<random.next(in: 0...4)).map { _ in value(depth: depth + 1, &random) })
        default:
            var object: [String: JSONValue] = [:]
            for _ in 0..<random.next(in: 0...5) { object[string(&random)] = value(depth: depth + 1, &random) }
            return .object(object)
        }
    }
}

/// Resumes its waiter with the first answer given; later ones are dropped.
private final class FirstAnswer: Sendable {
    let waiting = Mutex<CheckedContinuation<String?, Never>?>(nil)

    func give(_ answer: String?) {
        waiting.withLock { $0.take() }?.resume(returning: answer)
    }
}
