/// A tool the caller offered, reduced to what a tool call needs: its name and its parameter schema.
struct ToolSpec: Sendable {
    var name: String
    var schema: JSONValue?

    /// The tool a model would call: the one `named` if it was offered, else the first.
    static func pick(_ tools: [ToolSpec], named name: String?) -> ToolSpec? {
        if let name, let named = tools.first(where: { $0.name == name }) { return named }
        return tools.first
    }
}
