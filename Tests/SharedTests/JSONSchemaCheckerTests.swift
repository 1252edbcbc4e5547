import Foundation
import Testing

@testable import Shared

/// The structured-output check of a document job's final answer: each keyword of the subset,
/// `$ref`s, the answer's parsing, and the bounds that keep a hostile schema or answer from hanging
/// or crashing a worker.
@Suite("JSON schema checker")
struct JSONSchemaCheckerTests {
    static func json(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// The first violation of `schema` by `value`, as the job's message spells it; nil if none.
    static func violation(_ schema: String, _ value: String, limits: JSONSchemaChecker.Limits = .standard) throws -> String? {
        JSONSchemaChecker(schema: try json(schema), limits: limits).violation(of: try json(value))?.description
    }

    @Test("type: names, lists, integer as whole numbers")
    func types() throws {
        #expect(try Self.violation(#"{"type":"string"}"#, #""a""#) == nil)
        #expect(try Self.violation(#"{"type":"string"}"#, "1") == "$: expected string, got integer")
        #expect(try Self.violation(#"{"type":"number"}"#, "1") == nil)
        #expect(try Self.violation(#"{"type":"number"}"#, "1.5") == nil)
        #expect(try Self.violation(#"{"type":"integer"}"#, "1.5") == "$: expected integer, got number")
        #expect(JSONSchemaChecker(schema: try Self.json(#"{"type":"integer"}"#)).violation(of: .number(3.0)) == nil)
        #expect(try Self.violation(#"{"type":"boolean"}"#, "null") == "$: expected boolean, got null")
        #expect(try Self.violation(#"{"type":"null"}"#, "null") == nil)
        #expect(try Self.violation(#"{"type":"array"}"#, "{}") == "$: expected array, got object")
        #expect(try Self.violation(#"{"type":"object"}"#, "[]") == "$: expected object, got array")
        #expect(try Self.violation(#"{"type":["string","null"]}"#, "null") == nil)
        #expect(try Self.violation(#"{"type":["string","null"]}"#, "true") == "$: expected string or null, got boolean")
        #expect(try Self.violation(#"{"type":"unknown-type"}"#, "1") == nil, "an unknown type name constrains nothing")
        #expect(try Self.violation("true", "1") == nil)
        #expect(try Self.violation("false", "1") == "$: no value is allowed here")
        #expect(try Self.violation("{}", #"{"anything":[1,2]}"#) == nil)
    }

    @Test("properties, required, additionalProperties; paths name the member and item")
    func objects() throws {
        let schema = #"""
            {"type":"object","required":["items"],"additionalProperties":false,
             "properties":{"items":{"type":"array","items":{"type":"object","required":["name","price"],
               "properties":{"name":{"type":"string"},"price":{"type":"number"}}}}}}
            """#
        #expect(try Self.violation(schema, #"{"items":[{"name":"a","price":1},{"name":"b","price":2.5}]}"#) == nil)
        #expect(
            try Self.violation(schema, #"{"items":[{"name":"a","price":1},{"name":"b","price":2},{"name":"c","price":"3"}]}"#)
                == "$.items[2].price: expected number, got string"
        )
        #expect(try Self.violation(schema, #"{"items":[{"name":"a"}]}"#) == "$.items[0]: missing required property 'price'")
        #expect(try Self.violation(schema, "{}") == "$: missing required property 'items'")
        #expect(try Self.violation(schema, #"{"items":[],"extra":1}"#) == "$: unexpected property 'extra'")
        #expect(try Self.violation(#"{"additionalProperties":{"type":"integer"}}"#, #"{"a":1,"b":"x"}"#) == "$.b: expected integer, got string")
        #expect(
            try Self.violation(#"{"properties":{"odd key":{"type":"string"}}}"#, #"{"odd key":1}"#) == #"$["odd key"]: expected string, got integer"#
        )
        // additionalProperties is not applied beside patternProperties, which is not checked
        #expect(try Self.violation(#"{"patternProperties":{"^x":{}},"additionalProperties":false}"#, #"{"xa":1}"#) == nil)
        #expect(try Self.violation(#"{"minProperties":2}"#, #"{"a":1}"#) == "$: expected at least 2 properties, got 1")
        #expect(try Self.violation(#"{"maxProperties":1}"#, #"{"a":1,"b":2}"#) == "$: expected at most 1 properties, got 2")
        #expect(try Self.violation(#"{"required":["a"]}"#, "[]") == nil, "object keywords leave other types alone")
    }

    @Test("items, prefixItems, draft 4 tuples, minItems and maxItems")
    func arrays() throws {
        #expect(try Self.violation(#"{"items":{"type":"string"}}"#, #"["a","b",3]"#) == "$[2]: expected string, got integer")
        #expect(try Self.violation(#"{"minItems":2}"#, "[1]") == "$: expected at least 2 items, got 1")
        #expect(try Self.violation(#"{"maxItems":1}"#, "[1,2]") == "$: expected at most 1 items, got 2")
        let tuple = #"{"prefixItems":[{"type":"string"},{"type":"integer"}],"items":false}"#
        #expect(try Self.violation(tuple, #"["a",1]"#) == nil)
        #expect(try Self.violation(tuple, #"["a","b"]"#) == "$[1]: expected integer, got string")
        #expect(try Self.violation(tuple, #"["a",1,true]"#) == "$: expected at most 2 items, got 3")
        let draft4 = #"{"items":[{"type":"string"}],"additionalItems":{"type":"boolean"}}"#
        #expect(try Self.violation(draft4, #"["a",true,false]"#) == nil)
        #expect(try Self.violation(draft4, #"["a",true,1]"#) == "$[2]: expected boolean, got integer")
    }

    @Test("enum and const compare numbers by value and name what was expected")
    func constants() throws {
        #expect(try Self.violation(#"{"enum":["open","closed"]}"#, #""open""#) == nil)
        #expect(try Self.violation(#"{"enum":["open","closed"]}"#, #""pending""#) == #"$: expected one of "open", "closed", got "pending""#)
        #expect(try Self.violation(#"{"enum":[1,2,3,4,5,6,7]}"#, "8") == "$: expected one of 1, 2, 3, 4, 5, … (7 values), got 8")
        #expect(try Self.violation(#"{"enum":[1.0]}"#, "1") == nil)
        #expect(try Self.violation(#"{"enum":[{"a":[1,2]}]}"#, #"{"a":[1,2.0]}"#) == nil)
        #expect(try Self.violation(#"{"enum":[{"a":[1,2]}]}"#, #"{"a":[2,1]}"#) == "$: expected one of an object, got an object")
        #expect(try Self.violation(#"{"const":"x"}"#, #""y""#) == #"$: expected "x", got "y""#)
        #expect(try Self.violation(#"{"const":null}"#, "null") == nil)
        #expect(try Self.violation(#"{"const":false}"#, "0") == "$: expected false, got 0")
    }

    @Test("minimum, maximum, exclusive bounds in both drafts, multipleOf")
    func numbers() throws {
        #expect(try Self.violation(#"{"minimum":0}"#, "-1") == "$: expected at least 0, got -1")
        #expect(try Self.violation(#"{"minimum":0}"#, "0") == nil)
        #expect(try Self.violation(#"{"maximum":10}"#, "10.5") == "$: expected at most 10, got 10.5")
        #expect(try Self.violation(#"{"exclusiveMinimum":0}"#, "0") == "$: expected more than 0, got 0")
        #expect(try Self.violation(#"{"exclusiveMaximum":1.5}"#, "1.5") == "$: expected less than 1.5, got 1.5")
        #expect(try Self.violation(#"{"minimum":0,"exclusiveMinimum":true}"#, "0") == "$: expected more than 0, got 0")
        #expect(try Self.violation(#"{"maximum":5,"exclusiveMaximum":true}"#, "4.99") == nil)
        #expect(try Self.violation(#"{"multipleOf":3}"#, "9") == nil)
        #expect(try Self.violation(#"{"multipleOf":3}"#, "10") == "$: expected a multiple of 3, got 10")
        #expect(try Self.violation(#"{"multipleOf":0.01}"#, "19.99") == nil)
        #expect(try Self.violation(#"{"multipleOf":0.5}"#, "1.2") == "$: expected a multiple of 0.5, got 1.2")
        #expect(try Self.violation(#"{"minimum":0}"#, #""-1""#) == nil, "number keywords leave strings alone")
        #expect(try Self.violation(#"{"maximum":9007199254740993}"#, "9007199254740993") == nil, "integers compare exactly")
    }

    @Test("minLength and maxLength count code points; pattern searches, anchored only when asked")
    func strings() throws {
        #expect(try Self.violation(#"{"minLength":2}"#, #""a""#) == "$: expected at least 2 characters, got 1")
        #expect(try Self.violation(#"{"maxLength":3}"#, #""abcd""#) == "$: expected at most 3 characters, got 4")
        #expect(try Self.violation(#"{"maxLength":2}"#, #""é😀""#) == nil, "two code points, six bytes")
        #expect(try Self.violation(#"{"maxLength":1}"#, #""e\u0301""#) == "$: expected at most 1 characters, got 2")
        #expect(try Self.violation(#"{"pattern":"[0-9]+"}"#, #""abc123""#) == nil)
        #expect(try Self.violation(#"{"pattern":"^[0-9]+$"}"#, #""abc123""#) == "$: does not match pattern '^[0-9]+$'")
        #expect(try Self.violation(#"{"pattern":"^[A-Z]{3}-\\d{4}$"}"#, #""ABC-1234""#) == nil)
        #expect(try Self.violation(#"{"pattern":"(unclosed"}"#, #""x""#) == nil, "a pattern that does not compile is not applied")
        #expect(try Self.violation(#"{"format":"email","uniqueItems":true,"x-custom":1}"#, #""not an email""#) == nil)
    }

    @Test("allOf, anyOf, oneOf, not; a failed branch that got into the value is the one reported")
    func composition() throws {
        #expect(try Self.violation(#"{"allOf":[{"type":"integer"},{"minimum":3}]}"#, "2") == "$: expected at least 3, got 2")
        #expect(try Self.violation(#"{"anyOf":[{"type":"string"},{"type":"integer"}]}"#, "1") == nil)
        #expect(
            try Self.violation(#"{"anyOf":[{"type":"string"},{"type":"integer"}]}"#, "true") == "$: matches none of the anyOf schemas (got boolean)"
        )
        let nullable = #"{"anyOf":[{"type":"object","properties":{"a":{"type":"string"}}},{"type":"null"}]}"#
        #expect(try Self.violation(nullable, #"{"a":1}"#) == "$.a: expected string, got integer")
        #expect(try Self.violation(#"{"oneOf":[{"type":"integer"},{"minimum":0}]}"#, "-1") == nil)
        #expect(try Self.violation(#"{"oneOf":[{"type":"integer"},{"minimum":0}]}"#, "1") == "$: matches more than one of the oneOf schemas")
        #expect(try Self.violation(#"{"oneOf":[{"type":"integer"},{"type":"string"}]}"#, "[]") == "$: matches none of the oneOf schemas (got array)")
        #expect(try Self.violation(#"{"not":{"type":"null"}}"#, "null") == "$: matches the schema under 'not'")
        #expect(try Self.violation(#"{"not":{"type":"null"}}"#, "0") == nil)
    }

    @Test("$ref to $defs, definitions, any pointer, and # for recursive types")
    func references() throws {
        let defs = #"""
            {"type":"object","properties":{"home":{"$ref":"#/$defs/address"},"work":{"$ref":"#/definitions/address"}},
             "$defs":{"address":{"type":"object","required":["city"],"properties":{"city":{"type":"string"}}}},
             "definitions":{"address":{"$ref":"#/$defs/address"}}}
            """#
        #expect(try Self.violation(defs, #"{"home":{"city":"Oslo"},"work":{"city":"Bergen"}}"#) == nil)
        #expect(try Self.violation(defs, #"{"home":{"city":"Oslo"},"work":{}}"#) == "$.work: missing required property 'city'")
        #expect(
            try Self.violation(##"{"properties":{"a":{"type":"string"},"b":{"$ref":"#/properties/a"}}}"##, #"{"b":1}"#)
                == "$.b: expected string, got integer"
        )
        #expect(try Self.violation(##"{"$defs":{"a/b":{"type":"string"}},"$ref":"#/$defs/a~1b"}"##, "1") == "$: expected string, got integer")
        #expect(try Self.violation(##"{"$ref":"#/$defs/missing","type":"string"}"##, #""x""#) == nil, "an unresolvable $ref is not applied")
        #expect(try Self.violation(#"{"$ref":"https://example.com/schema"}"#, "1") == nil)
        let tree =
            ##"{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#"}}}}"##
        #expect(try Self.violation(tree, #"{"name":"a","children":[{"name":"b","children":[{"name":"c"}]}]}"#) == nil)
        #expect(
            try Self.violation(tree, #"{"name":"a","children":[{"name":"b","children":[{"name":7}]}]}"#)
                == "$.children[0].children[0].name: expected string, got integer"
        )
    }

    @Test("a schema that refers to itself without end stops at the depth bound")
    func endlessReference() throws {
        let loop = ##"{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}"##
        #expect(try Self.violation(loop, "1") == "$: too deeply nested to check (more than 128 levels)")
        #expect(try Self.violation(##"{"$ref":"#"}"##, "1") == "$: too deeply nested to check (more than 128 levels)")
        // inside anyOf, the bound is not read as "this branch does not match"
        #expect(try Self.violation(##"{"anyOf":[{"$ref":"#"},{"type":"integer"}]}"##, "1") == "$: too deeply nested to check (more than 128 levels)")
        #expect(try Self.violation(##"{"not":{"$ref":"#"}}"##, "1") == "$: too deeply nested to check (more than 128 levels)")
    }

    @Test("a value built 10,000 levels deep is checked to the depth bound, not down the stack")
    func deepValue() throws {
        var value = JSONValue.array([])
        for _ in 0..<10_000 { value = .array([value]) }
        let violation = JSONSchemaChecker(schema: try Self.json(##"{"items":{"$ref":"#"}}"##)).violation(of: value)
        #expect(violation?.reason == "too deeply nested to check (more than 128 levels)")
        #expect(violation.map { $0.path.count <= 201 } == true, "the path is cut: \(violation?.path ?? "")")
        #expect(JSONSchemaChecker(schema: .object([:])).violation(of: value) == nil, "a schema without keywords does not descend")
    }

    @Test("a huge enum against a long answer ends at the step bound")
    func hugeEnum() throws {
        let options = (0..<100_000).map { JSONValue.string("option-\($0)") }
        let schema = JSONValue.object(["type": .string("array"), "items": .object(["enum": .array(options)])])
        let answer = JSONValue.array(Array(repeating: .string("option-99999"), count: 1_000))
        let started = ContinuousClock.now
        let violation = JSONSchemaChecker(schema: schema).violation(of: answer)
        #expect(violation?.description == "$: too large to check (more than 1000000 steps)")
        #expect(ContinuousClock.now - started < .seconds(10))
        let small = JSONSchemaChecker(schema: schema).violation(of: .array([.string("option-5"), .string("option-99999")]))
        #expect(small == nil)
        #expect(
            JSONSchemaChecker(schema: schema).violation(of: .array([.string("nope")]))?.reason.hasSuffix("… (100000 values), got \"nope\"") == true
        )
    }

    @Test("a pattern that backtracks exponentially is stopped by the matching budget")
    func catastrophicPattern() throws {
        let started = ContinuousClock.now
        let evil = String(repeating: "a", count: 40) + "b"
        let violation = try Self.violation(#"{"items":{"pattern":"^(a+)+$"}}"#, "[\(JSONText.encode(JSONValue.string(evil)))]")
        #expect(violation == "$[0]: too costly to match against pattern '^(a+)+$'")
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try Self.violation(#"{"pattern":"^(a+)+$"}"#, #""aaaa""#) == nil)
    }

    @Test("the violation's path is short however long the keys")
    func longKeys() throws {
        let key = String(repeating: "k", count: 5_000)
        let schema = JSONValue.object(["properties": .object([key: .object(["type": .string("string")])])])
        let violation = JSONSchemaChecker(schema: schema).violation(of: .object([key: .integer(1)]))
        #expect(violation?.path == "$." + String(repeating: "k", count: 40) + "…")
        #expect(violation?.jobMessage.hasPrefix("Output does not conform to response_format: $.kkk") == true)
    }

    // MARK: - The answer as JSON

    @Test("the answer is one JSON value, whitespace and an enclosing ```json fence allowed")
    func parsing() throws {
        #expect(try AnswerJSON.parse("  {\"a\":1}\n").text == #"{"a":1}"#)
        #expect(try AnswerJSON.parse("```json\n{\"a\":1}\n```").value == .object(["a": .integer(1)]))
        #expect(try AnswerJSON.parse("```\n[1]\n```").text == "[1]")
        #expect(try AnswerJSON.parse("\"text\"").value == .string("text"))
        #expect(throws: SchemaViolation(path: "$", reason: "not valid JSON")) { try AnswerJSON.parse("Here it is: {\"a\":1}") }
        #expect(throws: SchemaViolation(path: "$", reason: "not valid JSON")) { try AnswerJSON.parse("{\"a\":1} {\"b\":2}") }
        #expect(throws: SchemaViolation(path: "$", reason: "not valid JSON")) { try AnswerJSON.parse("{\"a\":1,}") }
        #expect(throws: SchemaViolation(path: "$", reason: "not valid JSON")) { try AnswerJSON.parse("[1, \n]") }
        #expect(try AnswerJSON.parse(#"["a,]", "\\", "\"}"]"#).value == .array([.string("a,]"), .string("\\"), .string("\"}")]))
        #expect(throws: SchemaViolation(path: "$", reason: "not valid JSON")) { try AnswerJSON.parse("```python\n{}\n```") }
        #expect(throws: SchemaViolation(path: "$", reason: "expected JSON, got an empty answer")) { try AnswerJSON.parse(" \n ") }
    }

    @Test("an answer nested 10,000 levels deep is refused before it is decoded")
    func deepAnswer() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: SchemaViolation(path: "$", reason: "JSON nested deeper than 64 levels")) { try AnswerJSON.parse(deep) }
        let schema = ResponseSchema(requirement: .schema(try Self.json(#"{"type":"array"}"#)))
        #expect(throws: SchemaViolation(path: "$", reason: "JSON nested deeper than 64 levels")) { try schema.check(deep) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try schema.check(fine) == fine)
        // brackets inside strings do not count
        let quoted = JSONText.encode(JSONValue.string(String(repeating: "[", count: 1_000)))
        #expect(try AnswerJSON.parse(quoted).value == .string(String(repeating: "[", count: 1_000)))
    }

    // MARK: - From a job's response_format

    @Test("response_format: json_schema checks the schema, json_object an object, text nothing")
    func responseFormats() throws {
        let format = try Self.json(
            #"{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":{"type":"object","required":["score"],"properties":{"score":{"type":"number"}}}}}"#
        )
        let schema = try #require(ResponseSchema(responseFormat: format))
        #expect(try schema.check("```json\n{\"score\": 2}\n```") == #"{"score": 2}"#)
        #expect(throws: SchemaViolation(path: "$", reason: "missing required property 'score'")) { try schema.check("{}") }
        #expect(throws: SchemaViolation(path: "$.score", reason: "expected number, got string")) { try schema.check(#"{"score":"2"}"#) }
        #expect(throws: SchemaViolation(path: "$", reason: "not valid JSON")) { try schema.check("The score is 2.") }

        let object = try #require(ResponseSchema(responseFormat: try Self.json(#"{"type":"json_object"}"#)))
        #expect(object.requirement == .jsonObject)
        #expect(try object.check(#"{"anything":true}"#) == #"{"anything":true}"#)
        #expect(throws: SchemaViolation(path: "$", reason: "expected object, got array")) { try object.check("[1]") }

        #expect(ResponseSchema(responseFormat: try Self.json(#"{"type":"text"}"#)) == nil)
        #expect(ResponseSchema(responseFormat: nil) == nil)
        #expect(ResponseSchema(responseFormat: .null) == nil)
        #expect(JobWork(document: "d").responseSchema == nil)
        #expect(JobWork(document: "d", responseFormat: format).responseSchema == schema)
        // accepted before submit checked formats: any JSON value will do
        let lenient = try #require(ResponseSchema(responseFormat: try Self.json(#"{"type":"json_schema","json_schema":{"name":"r"}}"#)))
        #expect(try lenient.check("[1]") == "[1]")
        #expect(throws: SchemaViolation.self) { try lenient.check("no") }
    }
}
