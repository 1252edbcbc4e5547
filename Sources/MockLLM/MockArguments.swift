import NIOCore

/// JSON that fits a JSON Schema, for tool-call arguments and `json_schema` answers — and JSON
/// that does not, for the `schema_violations` knob.
///
/// A client that receives a tool call decodes its arguments against the tool's schema; arguments
/// filled from that schema (each property with a value of its type, or the first of its `enum`)
/// let that code run against the mock as it would against a model. `$ref`s within the schema are
/// followed, `allOf` parts merged, the first non-null branch of `anyOf`/`oneOf` taken, and bounds
/// kept (`minimum`…, `minLength`/`maxLength`, `minItems`/`maxItems`); `pattern` and `format` are
/// not (strings are `"mock"`).
enum MockArguments {
    /// Below this depth optional properties and one item per array are written; deeper, only what
    /// the schema requires (so recursive definitions end).
    static let maximumDepth = 8
    /// Deeper than this nothing more is written: `{}`, `[]` (a schema that requires itself without
    /// end has no document anyway).
    static let requiredDepth = 24
    /// The most items an array gets, whatever its `minItems`.
    static let maximumItems = 100

    /// A JSON document that fits `schema`; `{}` when there is no schema.
    static func document(for schema: JSONValue?) -> String {
        let root = schema ?? .object([:])
        var writer = JSONWriter(capacity: 128)
        SchemaFiller(root: root).write(root, into: &writer, depth: 0, topLevel: true)
        return String(buffer: writer.buffer)
    }

    /// Valid JSON that does not fit `schema`: its object without the first required property,
    /// with a property it does not allow, or a value of a type it does not allow; nil when every
    /// JSON value fits (`{}`).
    static func violation(of schema: JSONValue) -> String? {
        let filler = SchemaFiller(root: schema)
        let top = filler.resolved(schema)
        let types = SchemaFiller.types(of: top)
        let isObject = types.map { $0.contains("object") } ?? (top["properties"] != nil)
        if isObject {
            let required = (top["required"]?.arrayValue ?? []).compactMap(\.stringValue)
            if let first = required.first {
                var writer = JSONWriter(capacity: 128)
                filler.write(top, into: &writer, depth: 0, topLevel: true, omitting: first)
                return String(buffer: writer.buffer)
            }
            if top["additionalProperties"] == .bool(false) {
                let name = "mock_unexpected_property"
                if top["properties"]?[name] == nil { return #"{"\#(name)":true}"# }
            }
        }
        if top["const"] != nil || top["enum"] != nil { return #""mock value outside the enum""# }
        guard let types else { return nil }
        let candidates = [("object", #"{"mock":true}"#), ("string", #""mock""#), ("array", "[]"), ("boolean", "true"), ("null", "null")]
        for (type, literal) in candidates where !types.contains(type) { return literal }
        if !types.contains("number") { return types.contains("integer") ? "1.5" : "1" }
        return nil
    }
}

/// Writes documents for one schema, whose `$ref`s point into `root`.
struct SchemaFiller {
    let root: JSONValue

    /// `schema` as one set of keywords: its `$ref` followed, its `allOf` parts merged in, its
    /// `anyOf`/`oneOf` replaced by the first branch that is not just `null` (a bounded number of
    /// times, so a schema that refers to itself without end still ends).
    func resolved(_ schema: JSONValue) -> JSONValue {
        var current = schema
        for _ in 0..<16 {
            guard case .object(var keywords) = current else { return current }
            if case .string(let reference)? = keywords.removeValue(forKey: "$ref") {
                current = Self.merged(pointer(reference) ?? .object([:]), over: .object(keywords))
            } else if case .array(let parts)? = keywords.removeValue(forKey: "allOf") {
                current = parts.reduce(.object(keywords)) { Self.merged($0, over: $1) }
            } else if case .array(let branches)? = keywords["anyOf"] ?? keywords["oneOf"] {
                keywords["anyOf"] = nil
                keywords["oneOf"] = nil
                let branch = branches.first { Self.types(of: $0) != ["null"] } ?? branches.first ?? .object([:])
                current = Self.merged(branch, over: .object(keywords))
            } else {
                return current
            }
        }
        return current
    }

    func write(_ original: JSONValue, into writer: inout JSONWriter, depth: Int, topLevel: Bool = false, omitting: String? = nil) {
        let schema = resolved(original)
        if let constant = schema["const"] {
            writer.value(constant)
            return
        }
        if case .array(let choices) = schema["enum"], let first = choices.first {
            writer.value(first)
            return
        }
        let types = Self.types(of: schema) ?? []
        let implied = topLevel || schema["properties"] != nil ? "object" : schema["items"] != nil ? "array" : "string"
        // the first type that is not `null` when it lists several
        switch types.first(where: { $0 != "null" }) ?? types.first ?? implied {
        case "object":
            writeObject(schema, into: &writer, depth: depth, omitting: omitting)
        case "array":
            writeArray(schema, into: &writer, depth: depth)
        case "integer":
            writer.int(Self.integer(for: schema))
        case "number":
            writer.number(Self.number(for: schema))
        case "boolean":
            writer.raw("true")
        case "null":
            writer.raw("null")
        default:
            writer.string(Self.string(for: schema))
        }
    }

    private func writeObject(_ schema: JSONValue, into writer: inout JSONWriter, depth: Int, omitting: String?) {
        let properties = schema["properties"]?.objectValue ?? [:]
        let required = (schema["required"]?.arrayValue ?? []).compactMap(\.stringValue)
        var names: [String] = []
        if depth < MockArguments.requiredDepth {
            names = depth < MockArguments.maximumDepth ? properties.keys.sorted() : required.filter { properties[$0] != nil }
            names += required.filter { properties[$0] == nil && !names.contains($0) }
        }
        writer.raw("{")
        var first = true
        for name in names where name != omitting {
            if !first { writer.raw(",") }
            first = false
            writer.string(name)
            writer.raw(":")
            let additional = schema["additionalProperties"].flatMap { $0.objectValue != nil ? $0 : nil }
            write(properties[name] ?? additional ?? .object([:]), into: &writer, depth: depth + 1)
        }
        writer.raw("}")
    }

    private func writeArray(_ schema: JSONValue, into writer: inout JSONWriter, depth: Int) {
        let prefix = schema["prefixItems"]?.arrayValue ?? []
        let items = schema["items"]
        let minItems = Self.count(schema["minItems"]) ?? 0
        var count = depth < MockArguments.maximumDepth ? max(minItems, prefix.count, items != nil ? 1 : 0) : minItems
        if items == .bool(false) { count = min(count, prefix.count) }
        if let maxItems = Self.count(schema["maxItems"]) { count = min(count, maxItems) }
        if depth >= MockArguments.requiredDepth { count = 0 }
        count = min(count, MockArguments.maximumItems)
        writer.raw("[")
        for index in 0..<count {
            if index > 0 { writer.raw(",") }
            write(index < prefix.count ? prefix[index] : items ?? .object([:]), into: &writer, depth: depth + 1)
        }
        writer.raw("]")
    }

    /// `1`, or the nearest whole number within the bounds (a multiple of `multipleOf`).
    private static func integer(for schema: JSONValue) -> Int {
        let (low, high) = bounds(of: schema, step: 1)
        var value = 1.0
        if let low, value < low { value = low.rounded(.up) }
        if let high, value > high { value = high.rounded(.down) }
        if let step = schema["multipleOf"]?.numberValue, step >= 1, step.rounded() == step {
            value = (value / step).rounded(.up) * step
            if let high, value > high { value -= step }
        }
        return Int(max(-1e15, min(1e15, value)))
    }

    /// `1.5`, or a number within the bounds (a multiple of `multipleOf`).
    private static func number(for schema: JSONValue) -> Double {
        let (low, high) = bounds(of: schema, step: 0)
        var value = 1.5
        switch (low, high) {
        case (let low?, let high?) where value < low || value > high: value = (low + high) / 2
        case (let low?, nil) where value < low: value = low + 1
        case (nil, let high?) where value > high: value = high - 1
        default: break
        }
        if let step = schema["multipleOf"]?.numberValue, step > 0, (value / step).isFinite {
            value = (value / step).rounded(.up) * step
            if let high, value > high { value -= step }
        }
        return value
    }

    /// The inclusive bounds a number must keep; exclusive ones moved in by `step` (1 for
    /// integers), or kept as they are for numbers, which land between or beyond them.
    private static func bounds(of schema: JSONValue, step: Double) -> (low: Double?, high: Double?) {
        var low = schema["minimum"]?.numberValue
        var high = schema["maximum"]?.numberValue
        // draft 4: booleans beside `minimum` and `maximum`
        if schema["exclusiveMinimum"] == .bool(true), let bound = low { low = step > 0 ? bound.rounded(.down) + step : bound }
        if schema["exclusiveMaximum"] == .bool(true), let bound = high { high = step > 0 ? bound.rounded(.up) - step : bound }
        if let bound = schema["exclusiveMinimum"]?.numberValue {
            let inside = step > 0 ? bound.rounded(.down) + step : bound
            low = max(low ?? inside, inside)
        }
        if let bound = schema["exclusiveMaximum"]?.numberValue {
            let inside = step > 0 ? bound.rounded(.up) - step : bound
            high = min(high ?? inside, inside)
        }
        return (low, high)
    }

    /// `"mock"`, lengthened or cut to `minLength`/`maxLength`.
    private static func string(for schema: JSONValue) -> String {
        var text = "mock"
        if let minLength = count(schema["minLength"]), minLength > text.count {
            text += String(repeating: "k", count: min(minLength, 10_000) - text.count)
        }
        if let maxLength = count(schema["maxLength"]), maxLength < text.count {
            text = String(text.prefix(maxLength))
        }
        return text
    }

    private static func count(_ value: JSONValue?) -> Int? {
        guard let number = value?.numberValue, number >= 0, number.rounded() == number, number < 1e9 else { return nil }
        return Int(number)
    }

    /// The schema's `type` names; nil when it has none.
    static func types(of schema: JSONValue) -> [String]? {
        switch schema["type"] {
        case .string(let name): return [name]
        case .array(let names): return names.compactMap(\.stringValue)
        default: return nil
        }
    }

    /// `over`'s keywords on top of `base`'s, `properties` and `required` combined.
    static func merged(_ base: JSONValue, over: JSONValue) -> JSONValue {
        guard case .object(var result) = base, case .object(let top) = over else { return over.objectValue == nil ? base : over }
        for (key, value) in top {
            switch (key, result[key], value) {
            case ("properties", .object(let old)?, .object(let new)):
                result[key] = .object(old.merging(new) { _, new in new })
            case ("required", .array(let old)?, .array(let new)):
                result[key] = .array(old + new.filter { !old.contains($0) })
            default:
                result[key] = value
            }
        }
        return .object(result)
    }

    /// The schema `reference` names in `root` (`#`, or a JSON Pointer such as `#/$defs/a`).
    private func pointer(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#") else { return nil }
        var node = root
        for token in reference.dropFirst().split(separator: "/") {
            let name = String(token).replacing("~1", with: "/").replacing("~0", with: "~")
            switch node {
            case .object(let members): node = members[name] ?? .null
            case .array(let items): node = Int(name).flatMap { items.indices.contains($0) ? items[$0] : nil } ?? .null
            default: return nil
            }
        }
        return node == .null ? nil : node
    }
}
