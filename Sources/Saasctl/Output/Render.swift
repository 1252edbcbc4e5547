/// Answers as people read them: a list as a ``Table`` of chosen fields, one object as a
/// field/value table (nested objects flattened to dotted names), its lists of objects as tables
/// after it.
enum Render {
    /// A table of `items` with one column per field.
    static func list(_ items: [JSONValue], _ fields: [Field]) -> String {
        Table(fields.map(\.column), rows: items.map { item in fields.map { $0.cell(item) } }).render()
    }

    /// One object: a FIELD/VALUE table, then each list of objects it holds as a table of its own,
    /// with the fields `nested` names for it or else every scalar field its items hold.
    static func details(_ value: JSONValue, nested: [String: [Field]] = [:]) -> String {
        guard case .object = value else { return Cell.text(value) }
        var pairs: [(String, String)] = []
        var tables: [(String, [JSONValue])] = []
        flatten(value, prefix: "", into: &pairs, tables: &tables)
        var out = Table([Table.Column("field", maxWidth: 40), Table.Column("value", maxWidth: 100)], rows: pairs.map { [$0.0, $0.1] })
            .render()
        for (name, items) in tables {
            let fields = nested[name] ?? scalarFields(of: items)
            out += "\n\n\(Sanitized.text(name, maxWidth: 60)) (\(items.count)):\n" + list(items, fields)
        }
        return out
    }

    private static func flatten(_ value: JSONValue, prefix: String, into pairs: inout [(String, String)], tables: inout [(String, [JSONValue])]) {
        guard case .object(let fields) = value else { return }
        for key in fields.keys.sorted() {
            let name = prefix.isEmpty ? key : prefix + "." + key
            let field = fields[key]!
            switch field {
            case .object(let inner) where !inner.isEmpty:
                flatten(field, prefix: name, into: &pairs, tables: &tables)
            case .array(let items) where !items.isEmpty && !items.allSatisfy(\.isScalar):
                pairs.append((name, "\(items.count) (below)"))
                tables.append((name, items))
            default:
                pairs.append((name, Cell.text(field)))
            }
        }
    }

    /// Every scalar field the items hold, in sorted order (at most 8, so a table stays readable).
    private static func scalarFields(of items: [JSONValue]) -> [Field] {
        var names: Set<String> = []
        for item in items {
            for (key, value) in item.objectValue ?? [:] where value.isScalar { names.insert(key) }
        }
        return names.sorted().prefix(8).map { Field($0, $0, maxWidth: 30) }
    }
}
