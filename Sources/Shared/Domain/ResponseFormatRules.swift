import Foundation

/// What submit accepts as a `response_format`: `{"type":"text"}`, `{"type":"json_object"}`, or
/// `{"type":"json_schema","json_schema":{"name"?,"schema":{…},"strict"?}}`.
///
/// The schema is read by the worker (``JSONSchemaChecker``) as well as by the upstream, so a
/// schema the checker could not apply is refused here rather than failing the job after its
/// calls were paid for: it must be an object of at most ``maxSchemaKiB`` KiB and
/// ``maxSchemaNesting`` levels; each keyword the checker knows must have its type (a `minimum`
/// a number, `required` strings, subschemas objects or booleans…); every `pattern` must compile;
/// every `$ref` must point inside the schema, and no chain of `$ref`/`allOf`/`anyOf`/`oneOf`/
/// `not` may lead back to where it started without entering a property or an item (it would
/// check the same value for ever). Unknown keywords and fields are left alone.
public enum ResponseFormatRules {
    public static let maxSchemaKiB = 64
    /// Levels of JSON nesting of the schema itself (a property of an object is two levels down:
    /// `properties`, then the property).
    public static let maxSchemaNesting = 64

    /// The first problem with `responseFormat`; nil when it is acceptable (or absent).
    public static func problem(in responseFormat: JSONValue?) -> ResponseFormatProblem? {
        let base = "response_format"
        switch responseFormat {
        case nil, .null?: return nil
        case .object(let format)?:
            switch format["type"] {
            case .string("text")?, .string("json_object")?: return nil
            case .string("json_schema")?: return problem(inJSONSchema: format["json_schema"], field: base + ".json_schema")
            case nil, .null?: return ResponseFormatProblem(field: base + ".type", requirement: .present)
            default: return ResponseFormatProblem(field: base + ".type", requirement: .formatType)
            }
        default:
            return ResponseFormatProblem(field: base, requirement: .object)
        }
    }

    private static func problem(inJSONSchema value: JSONValue?, field: String) -> ResponseFormatProblem? {
        guard let value, value != .null else { return ResponseFormatProblem(field: field, requirement: .present) }
        guard case .object(let members) = value else { return ResponseFormatProblem(field: field, requirement: .object) }
        switch members["name"] {
        case nil, .null?: break
        case .string(let name)? where isName(name): break
        default: return ResponseFormatProblem(field: field + ".name", requirement: .name)
        }
        switch members["strict"] {
        case nil, .null?, .bool?: break
        default: return ResponseFormatProblem(field: field + ".strict", requirement: .boolean)
        }
        let schemaField = field + ".schema"
        switch members["schema"] {
        case nil, .null?: return ResponseFormatProblem(field: schemaField, requirement: .present)
        case let schema? where schema.objectValue != nil: return problem(inSchema: schema, field: schemaField)
        default: return ResponseFormatProblem(field: schemaField, requirement: .object)
        }
    }

    /// `[A-Za-z0-9_-]{1,64}`
    private static func isName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 || $0 == 45 }
    }

    // MARK: - The schema

    /// The schema's bounds, then each subschema's keywords (without recursion: the walk keeps
    /// its own stack), then `$ref` loops.
    static func problem(inSchema schema: JSONValue, field: String) -> ResponseFormatProblem? {
        if nesting(of: schema, above: maxSchemaNesting) > maxSchemaNesting {
            return ResponseFormatProblem(field: field, requirement: .maxNesting(maxSchemaNesting))
        }
        if JSONText.encode(schema).utf8.count > maxSchemaKiB * 1024 {
            return ResponseFormatProblem(field: field, requirement: .maxKiB(maxSchemaKiB))
        }
        var graph = SameValueGraph()
        var pending: [Subschema] = [Subschema(value: schema, field: field, pointer: "")]
        while let next = pending.popLast() {
            guard case .object(let keywords) = next.value else {
                if case .bool = next.value { continue }
                return ResponseFormatProblem(field: next.field, requirement: .schema)
            }
            var children: [Subschema] = []
            for keyword in keywords.keys.sorted() {
                guard let value = keywords[keyword] else { continue }
                let at = Subschema(value: value, field: next.field + "." + shortened(keyword), pointer: next.pointer + "/" + escaped(keyword))
                if let problem = problem(keyword: keyword, at: at, root: schema, children: &children) { return problem }
                switch keyword {
                case "$ref":
                    if case .string(let reference) = value, let target = normalizedPointer(reference) {
                        graph.add(from: next.pointer, to: target, field: at.field)
                    }
                case "allOf", "anyOf", "oneOf":
                    if case .array(let members) = value {
                        for index in members.indices { graph.add(from: next.pointer, to: at.pointer + "/\(index)", field: at.field) }
                    }
                case "not":
                    graph.add(from: next.pointer, to: at.pointer, field: at.field)
                default:
                    break
                }
            }
            pending.append(contentsOf: children.reversed())
        }
        if let field = graph.loop() { return ResponseFormatProblem(field: field, requirement: .referenceLoop) }
        return nil
    }

    /// A schema met on the walk: its value, its field for messages, its JSON Pointer for `$ref`s.
    private struct Subschema {
        var value: JSONValue
        var field: String
        var pointer: String
    }

    private static let typeNames: Set<String> = ["null", "boolean", "object", "array", "number", "integer", "string"]

    /// The problem with one keyword's value; the subschemas under it join `children`.
    private static func problem(keyword: String, at: Subschema, root: JSONValue, children: inout [Subschema]) -> ResponseFormatProblem? {
        let value = at.value
        func fail(_ requirement: ResponseFormatProblem.Requirement) -> ResponseFormatProblem {
            ResponseFormatProblem(field: at.field, requirement: requirement)
        }
        func isSchema(_ value: JSONValue) -> Bool {
            switch value {
            case .object, .bool: return true
            default: return false
            }
        }
        switch keyword {
        case "type":
            switch value {
            case .string(let name) where typeNames.contains(name): return nil
            case .array(let names) where !names.isEmpty && names.allSatisfy({ $0.stringValue.map(typeNames.contains) == true }): return nil
            default: return fail(.typeNames)
            }
        case "properties", "$defs", "definitions":
            guard case .object(let members) = value, members.values.allSatisfy(isSchema) else { return fail(.schemaMap) }
            for name in members.keys.sorted() {
                guard let member = members[name] else { continue }
                children.append(Subschema(value: member, field: at.field + "." + shortened(name), pointer: at.pointer + "/" + escaped(name)))
            }
        case "items":
            if case .array(let members) = value {
                guard members.allSatisfy(isSchema) else { return fail(.schemaList) }
                children.append(contentsOf: elements(members, at))
            } else {
                guard isSchema(value) else { return fail(.schema) }
                children.append(at)
            }
        case "prefixItems":
            guard case .array(let members) = value, members.allSatisfy(isSchema) else { return fail(.schemaList) }
            children.append(contentsOf: elements(members, at))
        case "allOf", "anyOf", "oneOf":
            guard case .array(let members) = value, !members.isEmpty, members.allSatisfy(isSchema) else { return fail(.schemaList) }
            children.append(contentsOf: elements(members, at))
        case "additionalProperties", "additionalItems", "not":
            guard isSchema(value) else { return fail(.schema) }
            children.append(at)
        case "required":
            guard case .array(let names) = value, names.allSatisfy({ $0.stringValue != nil }) else { return fail(.stringList) }
        case "enum":
            guard case .array(let options) = value, !options.isEmpty else { return fail(.nonEmptyArray) }
        case "minimum", "maximum":
            guard SchemaNumber(value) != nil else { return fail(.number) }
        case "exclusiveMinimum", "exclusiveMaximum":
            if case .bool = value { return nil }
            guard SchemaNumber(value) != nil else { return fail(.numberOrBoolean) }
        case "multipleOf":
            switch value {
            case .integer(let i) where i > 0: return nil
            case .number(let d) where d.isFinite && d > 0: return nil
            default: return fail(.positiveNumber)
            }
        case "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties":
            guard JSONSchemaChecker.count(value) != nil else { return fail(.count) }
        case "pattern":
            guard case .string(let pattern) = value, SchemaPattern.compile(pattern) != nil else {
                return fail(.pattern(maxCharacters: SchemaPattern.maxCharacters))
            }
        case "$ref":
            guard case .string(let reference) = value, let target = SchemaReference.resolve(reference, in: root), isSchema(target) else {
                return fail(.reference)
            }
        default:
            break
        }
        return nil
    }

    private static func elements(_ members: [JSONValue], _ at: Subschema) -> [Subschema] {
        members.enumerated().map { index, member in
            Subschema(value: member, field: at.field + "[\(index)]", pointer: at.pointer + "/\(index)")
        }
    }

    /// A key as a field name in a message: cut, so a hostile key cannot make the sentence long.
    private static func shortened(_ key: String) -> String {
        key.count > 64 ? String(key.prefix(64)) + "…" : key
    }

    /// A key as a JSON Pointer token.
    private static func escaped(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// A `$ref`'s pointer spelt as the walk spells pointers (percent escapes decoded, `~0`/`~1`
    /// kept), so that the two compare.
    private static func normalizedPointer(_ reference: String) -> String? {
        guard reference.hasPrefix("#") else { return nil }
        let pointer = reference.dropFirst()
        if pointer.isEmpty { return "" }
        let tokens = pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map { token in
            let decoded = String(token).removingPercentEncoding ?? String(token)
            return escaped(decoded.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~"))
        }
        return "/" + tokens.joined(separator: "/")
    }

    /// How deep a value's arrays and objects nest, counted without recursion and no further than
    /// just past `limit`.
    static func nesting(of value: JSONValue, above limit: Int) -> Int {
        var deepest = 0
        var pending: [(JSONValue, Int)] = [(value, 0)]
        while let (next, depth) = pending.popLast() {
            switch next {
            case .array(let items):
                deepest = max(deepest, depth + 1)
                if deepest > limit { return deepest }
                pending.append(contentsOf: items.map { ($0, depth + 1) })
            case .object(let members):
                deepest = max(deepest, depth + 1)
                if deepest > limit { return deepest }
                pending.append(contentsOf: members.values.map { ($0, depth + 1) })
            default:
                break
            }
        }
        return deepest
    }
}

/// The schemas each schema applies to its own value (through `$ref`, `allOf`, `anyOf`, `oneOf`,
/// `not`), by JSON Pointer: a cycle among them would check one value for ever.
private struct SameValueGraph {
    private var edges: [String: [(target: String, field: String)]] = [:]
    private var order: [String] = []

    mutating func add(from source: String, to target: String, field: String) {
        if edges[source] == nil { order.append(source) }
        edges[source, default: []].append((target, field))
    }

    /// The field of an edge that closes a cycle; nil when there is none.
    func loop() -> String? {
        enum Mark { case open, done }
        var marks: [String: Mark] = [:]
        for start in order where marks[start] == nil {
            // depth-first, with its own stack: (node, next edge to follow)
            var stack: [(node: String, edge: Int)] = [(start, 0)]
            marks[start] = .open
            while let top = stack.last {
                let outgoing = edges[top.node] ?? []
                guard top.edge < outgoing.count else {
                    marks[top.node] = .done
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].edge += 1
                let (target, field) = outgoing[top.edge]
                switch marks[target] {
                case .open?: return field
                case .done?: continue
                case nil:
                    marks[target] = .open
                    stack.append((target, 0))
                }
            }
        }
        return nil
    }
}
