import NIOCore

/// JSON that fits a JSON Schema, for tool-call arguments and `json_schema` answers.
///
/// A client that receives a tool call decodes its arguments against the tool's schema; arguments
/// filled from that schema (each property with a value of its type, or the first of its `enum`)
/// let that code run against the mock as it would against a model.
enum MockArguments {
    /// Deeper schemas are answered with `{}`: a mock need not follow recursive definitions.
    static let maximumDepth = 8

    /// A JSON document that fits `schema`; `{}` when there is no schema.
    static func document(for schema: JSONValue?) -> String {
        var writer = JSONWriter(capacity: 128)
        write(schema ?? .object([:]), into: &writer, depth: 0, topLevel: true)
        return String(buffer: writer.buffer)
    }

    static func write(_ schema: JSONValue, into writer: inout JSONWriter, depth: Int, topLevel: Bool = false) {
        if let constant = schema["const"] {
            writer.value(constant)
            return
        }
        if case .array(let choices) = schema["enum"], let first = choices.first {
            writer.value(first)
            return
        }
        switch schemaType(of: schema) ?? (topLevel || schema["properties"] != nil ? "object" : "string") {
        case "object":
            writer.raw("{")
            if depth < maximumDepth, case .object(let properties) = schema["properties"] {
                for (index, name) in properties.keys.sorted().enumerated() {
                    if index > 0 { writer.raw(",") }
                    writer.string(name)
                    writer.raw(":")
                    write(properties[name]!, into: &writer, depth: depth + 1)
                }
            }
            writer.raw("}")
        case "array":
            writer.raw("[")
            if depth < maximumDepth, let items = schema["items"] {
                write(items, into: &writer, depth: depth + 1)
            }
            writer.raw("]")
        case "integer": writer.raw("1")
        case "number": writer.raw("1.5")
        case "boolean": writer.raw("true")
        case "null": writer.raw("null")
        default: writer.string("mock")
        }
    }

    /// The schema's `type`: the first that is not `null` when it lists several.
    private static func schemaType(of schema: JSONValue) -> String? {
        switch schema["type"] {
        case .string(let name): return name
        case .array(let names):
            let strings = names.compactMap(\.stringValue)
            return strings.first { $0 != "null" } ?? strings.first
        default: return nil
        }
    }
}
