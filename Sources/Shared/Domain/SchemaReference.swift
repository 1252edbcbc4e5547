import Foundation

/// A `$ref` inside one schema: `#` (the whole schema, for recursive types), or a JSON Pointer
/// from it such as `#/$defs/address` or `#/definitions/address` (any pointer into the schema
/// works). References to other documents, `$id`s and anchors are not followed: submit refuses
/// them (``ResponseFormatRules``), and the checker ignores what it cannot resolve.
enum SchemaReference {
    /// Pointers longer than this are not resolved (a schema is at most 64 KiB anyway).
    static let maxCharacters = 1024

    /// The schema `reference` points to in `root`, or nil when it points nowhere it can follow.
    static func resolve(_ reference: String, in root: JSONValue) -> JSONValue? {
        guard reference.utf8.count <= maxCharacters, reference.hasPrefix("#") else { return nil }
        let pointer = reference.dropFirst()
        if pointer.isEmpty { return root }
        guard pointer.hasPrefix("/") else { return nil }
        var node = root
        for rawToken in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            // A URI fragment: percent-decoded first, then JSON Pointer's own `~1` and `~0`.
            guard let decoded = String(rawToken).removingPercentEncoding else { return nil }
            let token = decoded.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch node {
            case .object(let members):
                guard let next = members[token] else { return nil }
                node = next
            case .array(let items):
                guard let index = Int(token), index >= 0, index < items.count, token == String(index) else { return nil }
                node = items[index]
            default:
                return nil
            }
        }
        return node
    }
}
