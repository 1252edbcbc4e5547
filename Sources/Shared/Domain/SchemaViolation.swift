/// Why a model's answer does not fit the job's `response_format`: where (a short JSONPath such as
/// `$.items[2].price`) and what (`expected number, got string`).
///
/// The first violation found is enough: the job's error message names it, so a team can see what
/// its model got wrong without reading the answer, and the message stays short.
public struct SchemaViolation: Error, Sendable, Hashable, CustomStringConvertible {
    /// `$` for the whole answer, then `.name` or `["odd key"]` per member and `[n]` per item.
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// `$.items[2].price: expected number, got string`
    public var description: String { "\(path): \(reason)" }

    /// The failed job's error message (`invalid_output`).
    public var jobMessage: String { "Output does not conform to response_format: \(description)" }
}

/// One step of a path into a JSON value, kept as a stack while a value is checked and spelt only
/// when a violation is reported.
enum JSONPathStep: Sendable, Hashable {
    case key(String)
    case index(Int)

    /// Keys longer than this are cut, and paths longer than `maxPathCharacters` lose their middle:
    /// a hostile answer must not make a job's error message megabytes long.
    static let maxKeyCharacters = 40
    static let maxPathCharacters = 200

    /// `$`, then `.name` for identifier-like keys, `["…"]` for others, `[n]` for items.
    static func render(_ steps: [JSONPathStep]) -> String {
        var path = "$"
        for step in steps {
            switch step {
            case .index(let index):
                path += "[\(index)]"
            case .key(let key) where isIdentifier(key):
                path += "." + cut(key)
            case .key(let key):
                path += "[\"" + cut(key).replacingBackslashesAndQuotes() + "\"]"
            }
        }
        guard path.count > maxPathCharacters else { return path }
        let half = maxPathCharacters / 2
        return String(path.prefix(half)) + "…" + String(path.suffix(half))
    }

    private static func cut(_ key: String) -> String {
        key.count > maxKeyCharacters ? String(key.prefix(maxKeyCharacters)) + "…" : key
    }

    private static func isIdentifier(_ key: String) -> Bool {
        guard let first = key.utf8.first, !(48...57).contains(first) else { return false }
        return key.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 }
    }
}

extension String {
    /// The text with `\` and `"` escaped, for a key quoted in a path.
    fileprivate func replacingBackslashesAndQuotes() -> String {
        var out = ""
        for character in self {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case let c where c.isNewline: out += " "
            default: out.append(character)
            }
        }
        return out
    }
}
