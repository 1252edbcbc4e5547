import Foundation
import Hummingbird
import NIOCore
import Testing

@testable import API
@testable import Shared

/// ``JSONWriter`` writes what ``JSONCoding/encoder()`` writes: byte for byte for every scalar
/// value, and the same JSON (same keys, same values) for the three answers that use it — a
/// job, a balance, a submit's answer — whose key order `JSONEncoder` leaves to its dictionary.
@Suite("JSON writer: the hottest answers without JSONEncoder, the same JSON")
struct JSONWriterTests {
    private static func encoded(_ value: some Encodable) throws -> String {
        String(decoding: try JSONCoding.encoder().encode(value), as: UTF8.self)
    }

    private static func written(_ write: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter()
        write(&writer)
        return String(buffer: writer.buffer)
    }

    /// The JSON of `text` read back as a value, for comparing documents whose key order differs.
    private static func value(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    static let hostileStrings: [String] = {
        var strings = [
            "", "plain", #"say "hi" \ bye"#, "a/b</script>", "line\nbreak\r\ttab\u{08}\u{0C}", "\u{00}\u{01}\u{1F}\u{7F}",
            "line\u{2028}para\u{2029}end", "é ü 日本 🎉 e\u{301} 👩‍👩‍👧", "\u{FEFF}bom", "\u{FFFD}", "\\u0041", "\"\"\"",
            String(repeating: "\\\"", count: 500), String(repeating: "x", count: 10_000),
        ]
        strings.append(String(String.UnicodeScalarView((0..<0x80).compactMap(Unicode.Scalar.init))))
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let scalars = (0..<Int.random(in: 0...40, using: &generator)).compactMap { _ -> Unicode.Scalar? in
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: Unicode.Scalar(UInt32.random(in: 0..<0x80, using: &generator))
                case 1: Unicode.Scalar(UInt32.random(in: 0x80..<0xD800, using: &generator))
                case 2: Unicode.Scalar(UInt32.random(in: 0xE000...0x10FFFF, using: &generator))
                default: Unicode.Scalar(UInt32.random(in: 0..<0x20, using: &generator))
                }
            }
            strings.append(String(String.UnicodeScalarView(scalars)))
        }
        return strings
    }()

    @Test("strings are escaped as JSONEncoder escapes them, byte for byte")
    func strings() throws {
        for text in Self.hostileStrings {
            let ours = Self.written { $0.string(text) }
            #expect(ours == (try Self.encoded(text)), "\(text.debugDescription)")
            #expect(Array((try JSONDecoder().decode(String.self, from: Data(ours.utf8))).unicodeScalars) == Array(text.unicodeScalars))
            // As a key, too.
            let asKey = Self.written {
                $0.beginObject()
                $0.key(text)
                $0.null()
                $0.endObject()
            }
            #expect(asKey == (try Self.encoded([text: JSONValue.null])), "\(text.debugDescription)")
        }
    }

    @Test("integers, doubles and decimals are spelled as JSONEncoder spells them")
    func numbers() throws {
        var generator = SystemRandomNumberGenerator()
        var integers = [0, 1, -1, 9, 10, 99, 100, Int.max, Int.min, Int.max - 1, Int.min + 1, 1_000_000_000_000]
        for _ in 0..<2_000 { integers.append(Int.random(in: .min ... .max, using: &generator) >> Int.random(in: 0..<63, using: &generator)) }
        for integer in integers {
            #expect(Self.written { $0.int(integer) } == (try Self.encoded(integer)))
        }
        var doubles = [
            0.0, -0.0, 1.0, -1.0, 0.1, 1e20, 1e21, 1e-7, 123_456_789.123, 5e-324, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e16, 100.0,
        ]
        for _ in 0..<2_000 {
            doubles.append(Double(bitPattern: UInt64.random(in: .min ... .max, using: &generator)))
            doubles.append(Double.random(in: -1e6...1e6, using: &generator))
        }
        for double in doubles where double.isFinite {
            #expect(Self.written { $0.double(double) } == (try Self.encoded(double)), "\(double)")
        }
        #expect(Self.written { $0.double(.infinity) } == "null")
        #expect(Self.written { $0.double(.nan) } == "null")
        var decimals = ["0", "1.5", "-3.25", "1e30", "0.1", "100", "12345678901234567890.123456789", "-0.00001", "0.000123", "2.5", "1000000"]
            .compactMap { Decimal(string: $0) }
        for _ in 0..<500 { decimals.append(Decimal(Int.random(in: -1_000_000_000...1_000_000_000, using: &generator)) / 1000) }
        decimals.append(Decimal.greatestFiniteMagnitude)
        decimals.append(Decimal.leastNonzeroMagnitude)
        for decimal in decimals {
            #expect(Self.written { $0.decimal(decimal) } == (try Self.encoded(decimal)), "\(decimal)")
        }
    }

    @Test("dates are JSONCoding's RFC 3339 with milliseconds, byte for byte, from 1970 to 9999 and beyond")
    func dates() throws {
        var generator = SystemRandomNumberGenerator()
        var dates = [
            Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 0.999), Date(timeIntervalSince1970: 1_796_015_942.0005),
            Date(timeIntervalSince1970: 1_796_015_942.9999), Date(timeIntervalSince1970: 951_782_400), Date(timeIntervalSince1970: -1.5),
            Date(timeIntervalSince1970: 253_402_300_799.999), Date(timeIntervalSince1970: 253_402_300_800),
            Date(timeIntervalSince1970: -62_135_596_800), Date.distantPast, Date.distantFuture, Date(),
        ]
        for _ in 0..<3_000 {
            // As PostgreSQL's microseconds arrive, and as any double.
            dates.append(Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_102_444_800_000_000, using: &generator)) / 1e6))
            dates.append(Date(timeIntervalSinceReferenceDate: Double.random(in: -978_307_200...3_000_000_000, using: &generator)))
        }
        for date in dates {
            #expect(Self.written { $0.date(date) } == (try Self.encoded(date)), "\(date.timeIntervalSince1970)")
        }
    }

    static func randomJSON(depth: Int, using generator: inout SystemRandomNumberGenerator) -> JSONValue {
        let strings = hostileStrings
        switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .integer(Int.random(in: .min ... .max, using: &generator))
        case 3: return .number(Double.random(in: -1e12...1e12, using: &generator))
        case 4: return .string(strings.randomElement(using: &generator)!)
        case 5:
            return .array((0..<Int.random(in: 0...4, using: &generator)).map { _ in randomJSON(depth: depth + 1, using: &generator) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                members[strings.randomElement(using: &generator)!] = randomJSON(depth: depth + 1, using: &generator)
            }
            return .object(members)
        }
    }

    @Test("stored JSON values (metadata, results) come out as the same JSON")
    func jsonValues() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let value = Self.randomJSON(depth: 0, using: &generator)
            let ours = Self.written { $0.json(value) }
            #expect(try Self.value(ours) == (try Self.value(try Self.encoded(value))))
        }
        #expect(Self.written { $0.json(.array([.integer(1), .string("a"), .null, .array([]), .object([:])])) } == #"[1,"a",null,[],{}]"#)
    }

    static func randomJob(using generator: inout SystemRandomNumberGenerator) -> Job {
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random() ? value() : nil }
        let strings = hostileStrings
        let created = Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_102_444_800_000_000, using: &generator)) / 1e6)
        var metadata: JSONObject = [:]
        for _ in 0..<Int.random(in: 0...5, using: &generator) {
            metadata[strings.randomElement(using: &generator)!] = randomJSON(depth: 1, using: &generator)
        }
        return Job(
            jobID: UUID(),
            teamID: strings.randomElement(using: &generator)!,
            jobType: strings.randomElement(using: &generator)!,
            userID: maybe(strings.randomElement()!),
            status: JobStatus.allCases.randomElement(using: &generator)!,
            priority: Int.random(in: .min ... .max, using: &generator),
            modelGroup: maybe(strings.randomElement()!),
            metadata: metadata,
            creditsReserved: Int.random(in: .min ... .max, using: &generator),
            creditsCharged: Int.random(in: 0...Int.max, using: &generator),
            attempts: Int.random(in: 0...10, using: &generator),
            callsDone: Int.random(in: 0...100, using: &generator),
            callsPlanned: Int.random(in: 0...100, using: &generator),
            result: maybe(randomJSON(depth: 0, using: &generator)),
            usage: maybe(TokenUsage(promptTokens: Int.random(in: 0...1_000_000), completionTokens: Int.random(in: 0...1_000_000))),
            costUSD: maybe(Decimal(Int.random(in: 0...1_000_000_000)) / 1_000_000),
            errorCode: maybe([JobErrorCode.upstreamError, .invalidRequest, .poison, .cancelled, .invalidOutput].randomElement()!),
            errorMessage: maybe(strings.randomElement()!),
            createdAt: created,
            startedAt: maybe(created.addingTimeInterval(Double.random(in: 0...100))),
            completedAt: maybe(created.addingTimeInterval(Double.random(in: 0...1000))),
            expiresAt: created.addingTimeInterval(86_400),
            contentErasedAt: maybe(created.addingTimeInterval(5000))
        )
    }

    @Test("a job's answer is the same JSON as its Encodable conformance, for every status and hostile values")
    func jobs() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let response = JobResponse(job: Self.randomJob(using: &generator))
            let ours = Self.written { response.write(to: &$0) }
            #expect(try Self.value(ours) == (try Self.value(try Self.encoded(response))), "\(ours)")
        }
    }

    @Test("a balance and a submit's answer are the same JSON as their Encodable conformances")
    func balancesAndSubmits() throws {
        var generator = SystemRandomNumberGenerator()
        let decimals = ["0", "1", "0.5", "1000", "123.456", "0.000001"].compactMap { Decimal(string: $0) }
        for text in Self.hostileStrings {
            let balance = CreditController.BalanceResponse(
                teamID: text,
                creditsAllocated: Int.random(in: .min ... .max, using: &generator),
                creditsUsed: Int.random(in: 0...Int.max, using: &generator),
                creditsReserved: Int.random(in: 0...Int.max, using: &generator),
                creditsRemaining: Int.random(in: .min ... .max, using: &generator),
                budgetMode: text,
                tokensPerCredit: Int.random(in: 0...1000, using: &generator),
                creditsPerDollar: decimals.randomElement(using: &generator)!
            )
            let balanceText = Self.written { balance.write(to: &$0) }
            #expect(try Self.value(balanceText) == (try Self.value(try Self.encoded(balance))))

            let created = JobController.CreatedResponse(
                jobID: UUID().lowercasedString,
                status: text,
                createdAt: Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_102_444_800_000_000, using: &generator)) / 1e6),
                creditsReserved: Bool.random(using: &generator) ? Int.random(in: 0...Int.max, using: &generator) : nil
            )
            let createdText = Self.written { created.write(to: &$0) }
            #expect(try Self.value(createdText) == (try Self.value(try Self.encoded(created))))
            #expect(createdText.contains("credits_reserved") == (created.creditsReserved != nil))
        }
    }

    @Test("the answer carries JSON's content type and its length, as Hummingbird's encoder answers")
    func headers() throws {
        var writer = JSONWriter()
        JobResponse(job: Self.randomJob(using: &Self.generator)).write(to: &writer)
        let answer = writer.response()
        #expect(answer.status == .ok)
        #expect(answer.headers[.contentType] == "application/json; charset=utf-8")
        #expect(answer.headers[.contentLength] == String(writer.buffer.readableBytes))
        #expect(writer.response(status: .accepted).status == .accepted)
    }

    nonisolated(unsafe) static var generator = SystemRandomNumberGenerator()
}
