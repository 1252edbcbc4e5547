import Foundation
import Testing

@testable import Shared

/// What submit refuses in a `response_format`: each with the field it names, so that the 422
/// says where the problem is.
@Suite("Response format rules")
struct ResponseFormatRulesTests {
    static func problem(_ text: String) throws -> ResponseFormatProblem? {
        ResponseFormatRules.problem(in: try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)))
    }

    static func schemaProblem(_ schema: String) throws -> ResponseFormatProblem? {
        try problem(#"{"type":"json_schema","json_schema":{"name":"r","schema":\#(schema)}}"#)
    }

    static func at(_ field: String, _ requirement: ResponseFormatProblem.Requirement) -> ResponseFormatProblem {
        ResponseFormatProblem(field: "response_format" + field, requirement: requirement)
    }

    @Test("text, json_object and well-formed json_schema formats are accepted")
    func accepted() throws {
        #expect(ResponseFormatRules.problem(in: nil) == nil)
        #expect(ResponseFormatRules.problem(in: .null) == nil)
        #expect(try Self.problem(#"{"type":"text"}"#) == nil)
        #expect(try Self.problem(#"{"type":"json_object"}"#) == nil)
        let typical = #"""
            {"type":"object","additionalProperties":false,"required":["title","score","tags","status","owner"],
             "properties":{"title":{"type":"string","minLength":1,"maxLength":200,"pattern":"^[^\\n]+$"},
               "score":{"type":"number","minimum":0,"exclusiveMaximum":10,"multipleOf":0.5},
               "tags":{"type":"array","items":{"type":"string"},"minItems":0,"maxItems":10},
               "status":{"enum":["open","closed"]},
               "owner":{"anyOf":[{"$ref":"#/$defs/person"},{"type":"null"}]},
               "tree":{"$ref":"#/$defs/node"}},
             "$defs":{"person":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]},
               "node":{"type":"object","properties":{"children":{"type":"array","items":{"$ref":"#/$defs/node"}}}}},
             "format":"ignored","x-vendor":{"anything":[1]}}
            """#
        #expect(try Self.schemaProblem(typical) == nil)
        #expect(try Self.problem(#"{"type":"json_schema","json_schema":{"schema":{},"strict":false,"description":"d"}}"#) == nil, "name is optional")
        #expect(try Self.schemaProblem(##"{"type":"object","properties":{"next":{"$ref":"#"}}}"##) == nil, "recursion through a property")
    }

    @Test("the format itself: an object of a known type, with json_schema's fields")
    func format() throws {
        #expect(try Self.problem(#""json""#) == Self.at("", .object))
        #expect(try Self.problem("{}") == Self.at(".type", .present))
        #expect(try Self.problem(#"{"type":"xml"}"#) == Self.at(".type", .formatType))
        #expect(try Self.problem(#"{"type":1}"#) == Self.at(".type", .formatType))
        #expect(try Self.problem(#"{"type":"json_schema"}"#) == Self.at(".json_schema", .present))
        #expect(try Self.problem(#"{"type":"json_schema","json_schema":[]}"#) == Self.at(".json_schema", .object))
        #expect(try Self.problem(#"{"type":"json_schema","json_schema":{"name":"r"}}"#) == Self.at(".json_schema.schema", .present))
        #expect(try Self.problem(#"{"type":"json_schema","json_schema":{"name":"r","schema":"{}"}}"#) == Self.at(".json_schema.schema", .object))
        #expect(try Self.problem(#"{"type":"json_schema","json_schema":{"name":"r","schema":true}}"#) == Self.at(".json_schema.schema", .object))
        #expect(try Self.problem(#"{"type":"json_schema","json_schema":{"name":"a b","schema":{}}}"#) == Self.at(".json_schema.name", .name))
        #expect(
            try Self.problem(#"{"type":"json_schema","json_schema":{"name":"r","strict":"yes","schema":{}}}"#)
                == Self.at(".json_schema.strict", .boolean)
        )
    }

    @Test("each keyword the checker applies must have its type; the field is named")
    func keywords() throws {
        let base = ".json_schema.schema"
        let cases: [(schema: String, field: String, requirement: ResponseFormatProblem.Requirement)] = [
            (#"{"type":"text"}"#, ".type", .typeNames),
            (#"{"type":[]}"#, ".type", .typeNames),
            (#"{"properties":{"a":{"type":["string",3]}}}"#, ".properties.a.type", .typeNames),
            (#"{"properties":[]}"#, ".properties", .schemaMap),
            (#"{"properties":{"a":1}}"#, ".properties", .schemaMap),
            (#"{"required":"a"}"#, ".required", .stringList),
            (#"{"additionalProperties":"no"}"#, ".additionalProperties", .schema),
            (#"{"items":{"items":1}}"#, ".items.items", .schema),
            (#"{"prefixItems":{}}"#, ".prefixItems", .schemaList),
            (#"{"anyOf":[]}"#, ".anyOf", .schemaList),
            (#"{"oneOf":[{"type":"string"},2]}"#, ".oneOf", .schemaList),
            (#"{"allOf":[{"minimum":"1"}]}"#, ".allOf[0].minimum", .number),
            (#"{"not":null}"#, ".not", .schema),
            (#"{"enum":[]}"#, ".enum", .nonEmptyArray),
            (#"{"maximum":true}"#, ".maximum", .number),
            (#"{"exclusiveMinimum":"0"}"#, ".exclusiveMinimum", .numberOrBoolean),
            (#"{"multipleOf":0}"#, ".multipleOf", .positiveNumber),
            (#"{"minLength":-1}"#, ".minLength", .count),
            (#"{"maxItems":1.5}"#, ".maxItems", .count),
            (#"{"$defs":{"a":{"minProperties":"2"}}}"#, ".$defs.a.minProperties", .count),
            (#"{"definitions":{"a":{"pattern":"(unclosed"}}}"#, ".definitions.a.pattern", .pattern(maxCharacters: 1000)),
            (#"{"pattern":"\#(String(repeating: "a", count: 1001))"}"#, ".pattern", .pattern(maxCharacters: 1000)),
            (##"{"$ref":"#/$defs/missing"}"##, ".$ref", .reference),
            (#"{"$ref":"other.json#/a"}"#, ".$ref", .reference),
            (##"{"$ref":"#/required","required":["a"]}"##, ".$ref", .reference),
            (#"{"items":[{"type":"string"},{"$ref":7}]}"#, ".items[1].$ref", .reference),
        ]
        for (schema, field, requirement) in cases {
            #expect(try Self.schemaProblem(schema) == Self.at(base + field, requirement), "\(schema)")
        }
    }

    @Test("a $ref chain that comes back to its schema without nesting is refused")
    func loops() throws {
        let base = ".json_schema.schema"
        #expect(try Self.schemaProblem(##"{"$ref":"#"}"##) == Self.at(base + ".$ref", .referenceLoop))
        #expect(
            try Self.schemaProblem(##"{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"properties":{"x":{"$ref":"#/$defs/a"}}}"##)
                == Self.at(base + ".$defs.b.$ref", .referenceLoop)
        )
        #expect(try Self.schemaProblem(##"{"anyOf":[{"$ref":"#"},{"type":"null"}]}"##) == Self.at(base + ".anyOf[0].$ref", .referenceLoop))
        #expect(try Self.schemaProblem(##"{"not":{"allOf":[{"$ref":"#"}]}}"##) == Self.at(base + ".not.allOf[0].$ref", .referenceLoop))
        #expect(try Self.schemaProblem(##"{"anyOf":[{"items":{"$ref":"#"}},{"type":"null"}]}"##) == nil, "through an item: nesting")
    }

    @Test("a schema nested too deep or too large is refused, without recursion")
    func bounds() throws {
        var deep = JSONValue.object([:])
        for _ in 0..<40 { deep = .object(["properties": .object(["a": deep])]) }
        let format: (JSONValue) -> JSONValue = { schema in
            .object(["type": .string("json_schema"), "json_schema": .object(["name": .string("r"), "schema": schema])])
        }
        #expect(ResponseFormatRules.problem(in: format(deep)) == Self.at(".json_schema.schema", .maxNesting(64)))
        var fine = JSONValue.object([:])
        for _ in 0..<30 { fine = .object(["properties": .object(["a": fine])]) }
        #expect(ResponseFormatRules.problem(in: format(fine)) == nil)

        let huge = JSONValue.object(["enum": .array((0..<10_000).map { .string("value-\($0)") })])
        #expect(ResponseFormatRules.problem(in: format(huge)) == Self.at(".json_schema.schema", .maxKiB(64)))
        let large = JSONValue.object(["enum": .array((0..<2_000).map { .string("value-\($0)") })])
        #expect(ResponseFormatRules.problem(in: format(large)) == nil)
    }
}
