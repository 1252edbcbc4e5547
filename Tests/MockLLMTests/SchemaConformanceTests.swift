import Foundation
import HummingbirdTesting
import Shared
import Testing

/// The mock's `json_schema` answers held to the worker's own checker (`Shared.ResponseSchema`):
/// documents made from typical schemas fit them, and those `schema_violations` asks for do not —
/// so an end-to-end test of structured output runs against answers the worker judges as meant.
@Suite("Schema conformance: the mock's json_schema answers against the worker's checker")
struct SchemaConformanceTests {
    static let schemas: [String] = [
        // OpenAI's strict mode: every property required, no others, nullable through a type list
        #"""
        {"type":"object","additionalProperties":false,"required":["title","score","count","tags","status","note"],
         "properties":{"title":{"type":"string"},"score":{"type":"number"},"count":{"type":"integer","minimum":0},
           "tags":{"type":"array","items":{"type":"string"},"minItems":1},"status":{"type":"string","enum":["open","closed"]},
           "note":{"type":["string","null"]}}}
        """#,
        // nested $defs and definitions, a nullable reference, a list of references
        #"""
        {"type":"object","required":["invoice","customer"],"additionalProperties":false,
         "properties":{"invoice":{"$ref":"#/$defs/invoice"},"customer":{"anyOf":[{"$ref":"#/definitions/party"},{"type":"null"}]}},
         "$defs":{"invoice":{"type":"object","required":["number","lines"],"properties":{"number":{"type":"string","minLength":6},
             "lines":{"type":"array","items":{"$ref":"#/$defs/line"},"minItems":2,"maxItems":5}}},
           "line":{"type":"object","required":["sku","price","currency"],"additionalProperties":false,
             "properties":{"sku":{"type":"string","maxLength":3},"price":{"type":"number","exclusiveMinimum":10,"maximum":20,"multipleOf":0.5},
               "currency":{"enum":["EUR","USD"]}}}},
         "definitions":{"party":{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}}}
        """#,
        // a recursive type through `#`
        #"""
        {"type":"object","required":["name","children"],"properties":{"name":{"type":"string"},
          "children":{"type":"array","items":{"$ref":"#"}}}}
        """#,
        // bounds on integers, composition, tuples
        #"""
        {"type":"object","required":["page","pair","kind","both"],
         "properties":{"page":{"type":"integer","exclusiveMinimum":3,"exclusiveMaximum":9,"multipleOf":2},
           "pair":{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false},
           "kind":{"oneOf":[{"type":"object","required":["k"],"properties":{"k":{"const":"a"}}},
                            {"type":"object","required":["k"],"properties":{"k":{"const":"b"}}}]},
           "both":{"allOf":[{"type":"object","required":["x"],"properties":{"x":{"type":"boolean"}}},
                            {"required":["y"],"properties":{"y":{"type":"null"}}}]}}}
        """#,
    ]

    static func format(_ schema: String) -> String {
        #","response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":\#(schema)}}"#
    }

    static func checker(_ schema: String) throws -> ResponseSchema {
        let format = try JSONDecoder().decode(Shared.JSONValue.self, from: Data(#"{"type":"json_schema","json_schema":{"schema":\#(schema)}}"#.utf8))
        return try #require(ResponseSchema(responseFormat: format))
    }

    @Test("documents made from typical schemas fit them; schema_violations' do not, then they fit again")
    func typicalSchemas() async throws {
        for schema in Self.schemas {
            #expect(
                ResponseFormatRules.problem(
                    in: try JSONDecoder().decode(
                        Shared.JSONValue.self,
                        from: Data(#"{"type":"json_schema","json_schema":{"schema":\#(schema)}}"#.utf8)
                    )
                ) == nil
            )
            let checker = try Self.checker(schema)
            try await withMock { client in
                let fitting = try #require(try await client.chat(chatBody(extra: Self.format(schema))).message?["content"] as? String)
                #expect(throws: Never.self, "\(fitting)") { try checker.check(fitting) }

                try await client.setBehaviour(#"{"schema_violations":1}"#)
                let broken = try #require(try await client.chat(chatBody(extra: Self.format(schema))).message?["content"] as? String)
                #expect(throws: SchemaViolation.self, "\(broken)") { try checker.check(broken) }
                #expect((try? JSONSerialization.jsonObject(with: Data(broken.utf8), options: .fragmentsAllowed)) != nil, "still JSON: \(broken)")

                let again = try #require(try await client.chat(chatBody(extra: Self.format(schema))).message?["content"] as? String)
                #expect(again == fitting)
            }
        }
    }
}
