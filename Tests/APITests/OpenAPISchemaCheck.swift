import Foundation
import Shared

/// A minimal JSON Schema check, enough for the document's own schemas: `$ref` to components,
/// `type` (one or a list, `integer` as a whole number), `required`, `properties`, `items`,
/// `enum`, `anyOf`/`oneOf` (at least one variant), `minimum`/`maximum`, `minLength`/`maxLength`,
/// `minItems`/`maxItems`, `format` uuid and date-time. It says what is wrong, with a path.
struct OpenAPISchemaCheck {
    let document: JSONValue

    init(document data: Data) throws {
        document = try JSONDecoder().decode(JSONValue.self, from: data)
    }

    var schemas: [String: JSONValue] {
        guard case .object(let root) = document, case .object(let components)? = root["components"],
            case .object(let schemas)? = components["schemas"]
        else { return [:] }
        return schemas
    }

    /// The schema of an answer: `paths[path][method].responses[status].content[mediaType].schema`.
    func answerSchema(path: String, method: String, status: Int, mediaType: String = "application/json") -> JSONValue? {
        document[["paths", path, method.lowercased(), "responses", String(status), "content", mediaType, "schema"]]
    }

    func problems(_ value: JSONValue, against schema: JSONValue, at path: String = "$") -> [String] {
        guard case .object(let rules) = schema else { return [] }
        if case .string(let reference)? = rules["$ref"] {
            let name = String(reference.split(separator: "/").last ?? "")
            guard let target = schemas[name] else { return ["\(path): unknown reference \(reference)"] }
            return problems(value, against: target, at: path)
        }
        for key in ["anyOf", "oneOf"] {
            if case .array(let variants)? = rules[key] {
                if !variants.contains(where: { problems(value, against: $0, at: path).isEmpty }) {
                    return ["\(path): matches none of \(key)"]
                }
            }
        }
        var found: [String] = []
        if let types = rules["type"] {
            let names: [String]
            switch types {
            case .string(let name): names = [name]
            case .array(let list): names = list.compactMap { if case .string(let s) = $0 { s } else { nil } }
            default: names = []
            }
            if !names.contains(where: { Self.isType(value, $0) }) {
                return ["\(path): \(Self.describe(value)) is not \(names.joined(separator: " | "))"]
            }
        }
        if case .array(let allowed)? = rules["enum"], !allowed.contains(value) {
            found.append("\(path): \(Self.describe(value)) is not one of the enum")
        }
        switch value {
        case .object(let fields):
            if case .array(let required)? = rules["required"] {
                for case .string(let name) in required where fields[name] == nil {
                    found.append("\(path).\(name): required, missing")
                }
            }
            if case .object(let properties)? = rules["properties"] {
                for (name, property) in properties {
                    if let field = fields[name] { found += problems(field, against: property, at: "\(path).\(name)") }
                }
            }
        case .array(let items):
            if let itemSchema = rules["items"] {
                for (index, item) in items.enumerated() { found += problems(item, against: itemSchema, at: "\(path)[\(index)]") }
            }
            if case .integer(let min)? = rules["minItems"], items.count < min { found.append("\(path): fewer than \(min) items") }
            if case .integer(let max)? = rules["maxItems"], items.count > max { found.append("\(path): more than \(max) items") }
        case .string(let text):
            if case .integer(let min)? = rules["minLength"], text.unicodeScalars.count < min { found.append("\(path): shorter than \(min)") }
            if case .integer(let max)? = rules["maxLength"], text.unicodeScalars.count > max { found.append("\(path): longer than \(max)") }
            if case .string("uuid")? = rules["format"], UUID(uuidString: text) == nil { found.append("\(path): \(text) is not a uuid") }
            if case .string("date-time")? = rules["format"],
                text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"#, options: .regularExpression) == nil
            {
                found.append("\(path): \(text) is not a date-time")
            }
        case .integer, .number:
            let number = Self.number(value) ?? 0
            if let min = rules["minimum"].flatMap(Self.number), number < min { found.append("\(path): below \(min)") }
            if let max = rules["maximum"].flatMap(Self.number), number > max { found.append("\(path): above \(max)") }
        default:
            break
        }
        return found
    }

    static func isType(_ value: JSONValue, _ type: String) -> Bool {
        switch (value, type) {
        case (.null, "null"), (.bool, "boolean"), (.string, "string"), (.array, "array"), (.object, "object"): true
        case (.integer, "integer"), (.integer, "number"), (.number, "number"): true
        case (.number(let n), "integer"): n == n.rounded()
        default: false
        }
    }

    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let i): Double(i)
        case .number(let d): d
        default: nil
        }
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .integer(let i): "\(i)"
        case .number(let d): "\(d)"
        case .string(let s): "\"\(s.prefix(40))\""
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue {
    /// The value at a path of object keys.
    subscript(_ keys: [String]) -> JSONValue? {
        var current: JSONValue? = self
        for key in keys {
            guard case .object(let fields)? = current else { return nil }
            current = fields[key]
        }
        return current
    }
}
