import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MockLLM

/// The `schema_violations` knob: the first N `json_schema` answers after a PUT break their schema,
/// later ones fit it again — what a client's structured-output retry is tested against.
@Suite("Schema violations: json_schema answers that break their schema on demand")
struct SchemaViolationTests {
    static let format =
        ##","response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object","required":["score","tags"],"properties":{"score":{"type":"number"},"tags":{"type":"array","items":{"type":"string"}}}}}}"##
    static let fitting = #"{"score":1.5,"tags":["mock"]}"#

    static func content(_ response: TestResponse) -> String? { response.message?["content"] as? String }

    @Test("N = 1: one answer breaks the schema, then they fit again")
    func once() async throws {
        try await withMock { client in
            #expect(Self.content(try await client.chat(chatBody(extra: Self.format))) == Self.fitting)
            let put = try await client.setBehaviour(#"{"schema_violations":1}"#)
            #expect(put.json?["schema_violations"] as? Int == 1)
            let broken = try await client.chat(chatBody(extra: Self.format))
            #expect(broken.status == .ok)
            #expect(Self.content(broken) == #"{"tags":["mock"]}"#, "the first required property left out")
            #expect(Self.content(try await client.chat(chatBody(extra: Self.format))) == Self.fitting)
            #expect(Self.content(try await client.chat(chatBody(extra: Self.format))) == Self.fitting)
        }
    }

    @Test("N = 2: two answers in a row break it; a PUT restarts the count")
    func twice() async throws {
        try await withMock { client in
            try await client.setBehaviour(#"{"schema_violations":2}"#)
            #expect(Self.content(try await client.chat(chatBody(extra: Self.format))) == #"{"tags":["mock"]}"#)
            #expect(Self.content(try await client.chat(chatBody(extra: Self.format))) == #"{"tags":["mock"]}"#)
            #expect(Self.content(try await client.chat(chatBody(extra: Self.format))) == Self.fitting)
            try await client.setBehaviour(#"{"latency_ms":0}"#)
            #expect(Self.content(try await client.chat(chatBody(extra: Self.format))) == #"{"tags":["mock"]}"#, "counted since the behaviour changed")
            let reset = try await client.execute(uri: "/_mock/reset", method: .post)
            #expect(reset.json?["schema_violations"] == nil, "left out of the JSON form when 0")
            #expect(Self.content(try await client.chat(chatBody(extra: Self.format))) == Self.fitting)
        }
    }

    @Test("only json_schema text answers count: json_object, plain text, tool calls and refused calls do not")
    func whatCounts() async throws {
        try await withMock { client in
            try await client.setBehaviour(#"{"schema_violations":1}"#)
            let object = try await client.chat(chatBody(extra: #","response_format":{"type":"json_object"}"#))
            #expect(Self.content(object)?.hasPrefix(#"{"analysis":"#) == true)
            #expect(Self.content(try await client.chat(chatBody()))?.hasPrefix("mock analysis") == true)
            let tools =
                #","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","required":["a"],"properties":{"a":{"type":"string"}}}}}]"#
            let call = try await client.chat(chatBody(extra: Self.format + tools))
            let arguments = ((call.message?["tool_calls"] as? [[String: Any]])?.first?["function"] as? [String: Any])?["arguments"] as? String
            #expect(arguments == #"{"a":"mock"}"#)
            #expect(try await client.chat(chatBody(extra: Self.format + #","max_tokens":0"#)).status == .badRequest)
            #expect(Self.content(try await client.chat(chatBody(extra: Self.format))) == #"{"tags":["mock"]}"#, "the one violation is still due")
            #expect(Self.content(try await client.chat(chatBody(extra: Self.format))) == Self.fitting)
        }
    }

    @Test("a streamed answer takes one violation, streamed as the broken document")
    func streamed() async throws {
        try await withMock { client in
            try await client.setBehaviour(#"{"schema_violations":2}"#)
            let stream = try await client.chat(chatBody(extra: Self.format + #","stream":true"#))
            let pieces = StreamTests.deltas(StreamTests.events(stream.text)).compactMap { $0["content"] as? String }
            #expect(pieces.joined() == #"{"tags":["mock"]}"#)
            #expect(Self.content(try await client.chat(chatBody(extra: Self.format))) == #"{"tags":["mock"]}"#)
            #expect(Self.content(try await client.chat(chatBody(extra: Self.format))) == Self.fitting)
        }
    }

    @Test("a negative count is refused with 400; unknown-field errors list the field")
    func validation() async throws {
        try await withMock { client in
            let refused = try await client.execute(uri: "/_mock/behaviour", method: .put, body: ByteBuffer(string: #"{"schema_violations":-1}"#))
            #expect(refused.status == .badRequest)
            #expect((refused.openAIError?["message"] as? String)?.contains("schema_violations must be 0 or more") == true)
            let unknown = try await client.execute(uri: "/_mock/behaviour", method: .put, body: ByteBuffer(string: #"{"schema_violation":1}"#))
            #expect((unknown.openAIError?["message"] as? String)?.contains("schema_violations") == true)
        }
    }

    @Test("the broken document: a required property left out, a property not allowed, or a type not allowed")
    func violations() throws {
        func violation(_ schema: String) throws -> String? {
            MockArguments.violation(of: try JSONDecoder().decode(JSONValue.self, from: Data(schema.utf8)))
        }
        #expect(
            try violation(#"{"type":"object","required":["b","a"],"properties":{"a":{"type":"string"},"b":{"type":"integer"}}}"#) == #"{"a":"mock"}"#
        )
        #expect(
            try violation(#"{"type":"object","additionalProperties":false,"properties":{"a":{"type":"string"}}}"#)
                == #"{"mock_unexpected_property":true}"#
        )
        #expect(try violation(#"{"type":"object"}"#) == #""mock""#)
        #expect(try violation(#"{"type":"string"}"#) == #"{"mock":true}"#)
        #expect(try violation(#"{"type":"integer"}"#) == #"{"mock":true}"#)
        #expect(try violation(#"{"enum":["a","b"]}"#) == #""mock value outside the enum""#)
        #expect(
            try violation(##"{"$defs":{"r":{"type":"object","required":["x"],"properties":{"x":{"type":"string"}}}},"$ref":"#/$defs/r"}"##) == "{}"
        )
        #expect(try violation("{}") == nil, "every value fits: the route answers plain text")
    }
}
