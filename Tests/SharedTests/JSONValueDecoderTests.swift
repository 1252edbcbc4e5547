import Foundation
import Testing

@testable import Shared

/// ``JSONValueDecoder`` must decode what `JSONDecoder` decodes and refuse what it refuses: a claimed
/// job's request read differently would be another job run, and one refused by one path only would
/// be settled differently by it.
@Suite("JSONValueDecoder: JSONDecoder's values, decoded from the value read")
struct JSONValueDecoderTests {
    /// Both decoders' outcomes for `text`: equal values, or the same refusal — the same kind of
    /// `DecodingError` at the same path (but for `dataCorrupted`'s path: ``JSONValueDecoder``'s
    /// one difference).
    private static func expectSame<T: Decodable & Equatable>(
        _ type: T.Type,
        _ text: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let direct = Result { try JSONValueDecoder().decode(type, from: Data(text.utf8)) }
        let foundation = Result { try JSONDecoder().decode(type, from: Data(text.utf8)) }
        #expect(Self.outcome(direct) == Self.outcome(foundation), "\(text)", sourceLocation: sourceLocation)
    }

    /// A decoded value, or the refusal's kind and path (compared as values: a dictionary's
    /// description is in no fixed order).
    private enum Outcome<T: Equatable>: Equatable {
        case value(T)
        case refused(String)
    }

    private static func outcome<T: Equatable>(_ result: Result<T, any Error>) -> Outcome<T> {
        switch result {
        case .success(let value): return .value(value)
        case .failure(let error as DecodingError):
            func path(_ context: DecodingError.Context) -> String {
                context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            }
            switch error {
            case .typeMismatch(let type, let context): return .refused("typeMismatch \(type) at \(path(context))")
            case .valueNotFound(let type, let context): return .refused("valueNotFound \(type) at \(path(context))")
            case .keyNotFound(let key, let context): return .refused("keyNotFound \(key.stringValue) at \(path(context))")
            // JSONDecoder reports a number that does not fit at the root; the reader at its path.
            case .dataCorrupted: return .refused("dataCorrupted")
            @unknown default: return .refused("\(error)")
            }
        case .failure(let error): return .refused("\(error)")
        }
    }

    /// A request with every field set: adding a field to ``JobWork`` without a value here fails
    /// the test, so a field the decoder mishandled could not go unseen.
    static let fullWork = JobWork(
        messages: [
            .object(["role": .string("system"), "content": .string("Be brief.")]),
            .object(["role": .string("user"), "content": .array([.object(["type": .string("text"), "text": .string("é 😀 \"q\"")])])]),
        ],
        document: "A document\nof two lines.",
        instructions: "Summarise.",
        temperature: 0.25,
        maxTokens: 512,
        responseFormat: .object(["type": .string("json_schema"), "json_schema": .object(["name": .string("x"), "strict": .bool(true)])]),
        tools: .array([.object(["type": .string("function"), "function": .object(["name": .string("f"), "parameters": .object([:])])])]),
        toolChoice: .string("auto"),
        stop: .array([.string("END"), .string("\n\n")]),
        topP: 0.9,
        frequencyPenalty: -0.5,
        presencePenalty: 1,
        allowPartial: true,
        stream: false,
        purpose: "triage",
        callMetadata: ["ticket": .integer(42), "ratio": .number(0.5), "tags": .array([.null, .bool(false)])],
        upload: DocumentUpload(kind: .pdf, byteSize: 1_048_576, fileName: "report.pdf")
    )

    @Test("a job's request with every field set decodes to itself, as through JSONDecoder")
    func fullRequest() throws {
        for child in Mirror(reflecting: Self.fullWork).children {
            #expect(!"\(child.value)".hasPrefix("nil"), "JobWork.\(child.label ?? "?") has no value in fullWork")
        }
        let text = try JSONEncoder().encode(Self.fullWork)
        #expect(try JSONValueDecoder().decode(JobWork.self, from: text) == Self.fullWork)
        #expect(try JSONDecoder().decode(JobWork.self, from: text) == Self.fullWork)
        #expect(try JSONValueDecoder().decode(JobWork.self, from: Data("{}".utf8)) == JobWork())
    }

    @Test("members of the wrong kind, missing, null, or numbers that do not fit: decoded or refused alike")
    func requestMembers() {
        let texts = [
            #"{"max_tokens": 5}"#, #"{"max_tokens": 5.0}"#, #"{"max_tokens": 5.5}"#, #"{"max_tokens": "5"}"#, #"{"max_tokens": null}"#,
            #"{"max_tokens": 1e300}"#, #"{"max_tokens": -9223372036854775808}"#, #"{"max_tokens": 9223372036854775808}"#,
            #"{"temperature": 1}"#, #"{"temperature": true}"#, #"{"temperature": "0.5"}"#, #"{"allow_partial": 1}"#,
            #"{"allow_partial": false}"#, #"{"messages": {}}"#, #"{"messages": [1, "two", null, [3], {"a": {}}]}"#,
            #"{"messages": null}"#, #"{"document": 7}"#, #"{"upload": {"kind": "pdf", "byte_size": 10}}"#,
            #"{"upload": {"kind": "exe", "byte_size": 10}}"#, #"{"upload": {"kind": "pdf"}}"#, #"{"upload": {"kind": "pdf", "byte_size": 1.5}}"#,
            #"{"upload": []}"#, #"{"call_metadata": {"a": 1}}"#, #"{"call_metadata": []}"#, #"{"stop": "x"}"#, #"[]"#, #"null"#, #"7"#,
            #"{"unknown": 1, "stream": true}"#, #"{"stream": true,}"#, "{\"document\": \"\\u0000\"}", #"{"#,
        ]
        for text in texts { Self.expectSame(JobWork.self, text) }
    }

    private struct Primitives: Codable, Equatable {
        var int8: Int8
        var int16: Int16?
        var int32: Int32
        var int64: Int64
        var uint: UInt
        var uint8: UInt8?
        var uint16: UInt16
        var uint32: UInt32
        var uint64: UInt64
        var float: Float
        var double: Double?
        var bools: [Bool]
        var nested: [[String: [Int]]]
        var optionals: [Int?]
    }

    @Test("every primitive, in keyed, unkeyed and single-value containers, and their bounds")
    func primitives() {
        let full =
            #"{"int8": -128, "int16": 32767, "int32": -2147483648, "int64": 9223372036854775807, "uint": 0, "uint8": 255, "uint16": 65535,"#
            + #" "uint32": 4294967295, "uint64": 1e3, "float": 0.1, "double": -2.5e-300, "bools": [true, false],"#
            + #" "nested": [{"a": [1, 2]}, {}], "optionals": [1, null, 3]}"#
        Self.expectSame(Primitives.self, full)
        #expect((try? JSONValueDecoder().decode(Primitives.self, from: Data(full.utf8))) != nil)
        for (from, to) in [
            (#""int8": -128"#, #""int8": -129"#), (#""uint8": 255"#, #""uint8": 256"#), (#""uint": 0"#, #""uint": -1"#),
            (#""uint16": 65535"#, #""uint16": 65535.5"#), (#""int16": 32767"#, #""int16": null"#), (#""uint8": 255"#, #""uint9": 255"#),
            (#""bools": [true, false]"#, #""bools": [true, 0]"#), (#""optionals": [1, null, 3]"#, #""optionals": [1, "2"]"#),
            (#""nested": [{"a": [1, 2]}, {}]"#, #""nested": [{"a": 1}]"#), (#""double": -2.5e-300"#, #""double": null"#),
        ] {
            Self.expectSame(Primitives.self, full.replacingOccurrences(of: from, with: to))
        }
        Self.expectSame([UInt8].self, "[0, 255, 256]")
        Self.expectSame([Int].self, "[1, 2.0, 3e2]")
        Self.expectSame(String.self, #""top""#)
        Self.expectSame([String: [Double]].self, #"{"a": [1, 2.5], "b": []}"#)
    }
}
