import Foundation

/// A model's answer read as JSON, before its schema is checked.
///
/// Strict: one JSON value, whitespace around it allowed — no prose before or after, no second
/// value. The one leniency is a Markdown code fence around the whole answer (```` ```json ````
/// or a bare ```` ``` ````): models asked for JSON in the prompt rather than through the API wrap
/// it so, and the text inside is exactly what was asked for. The unfenced text is what a job keeps
/// as its `content`, so the stored result parses as JSON without a client stripping anything.
public enum AnswerJSON {
    /// Deeper answers are refused before they are decoded: decoding, checking and freeing a
    /// value all recurse, and a model's answer has no reason to nest this deep.
    public static let maxNesting = 64

    /// The answer's JSON text and value.
    public struct Parsed: Sendable, Hashable {
        /// The answer without a surrounding fence or whitespace.
        public var text: String
        public var value: JSONValue
    }

    /// The JSON in `content`, or why there is none (a violation at `$`).
    public static func parse(_ content: String) throws(SchemaViolation) -> Parsed {
        let text = unfenced(content)
        guard !text.isEmpty else { throw SchemaViolation(path: "$", reason: "expected JSON, got an empty answer") }
        let shape = shape(of: text, above: maxNesting)
        guard shape.nesting <= maxNesting else {
            throw SchemaViolation(path: "$", reason: "JSON nested deeper than \(maxNesting) levels")
        }
        // Foundation's decoder lets a trailing comma through; JSON does not
        guard !shape.trailingComma, let value = JSONValueReader.value(Data(text.utf8)) else {
            throw SchemaViolation(path: "$", reason: "not valid JSON")
        }
        return Parsed(text: text, value: value)
    }

    /// `content` trimmed, and without a code fence that encloses all of it.
    static func unfenced(_ content: String) -> String {
        let trimmed = content.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count >= 6, trimmed.hasPrefix("```"), trimmed.hasSuffix("```") else { return trimmed }
        let opened = trimmed.dropFirst(3)
        guard let lineEnd = opened.firstIndex(where: \.isNewline) else { return trimmed }
        let info = opened[..<lineEnd].trimmingCharacters(in: .whitespaces).lowercased()
        guard info.isEmpty || info == "json" else { return trimmed }
        return opened[lineEnd...].dropLast(3).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// How deep the text's arrays and objects nest (outside strings), counted no further than
    /// just past `limit`, and whether a `,` comes right before a `]` or `}` (past white space).
    static func shape(of text: String, above limit: Int) -> (nesting: Int, trailingComma: Bool) {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        var pendingComma = false
        var trailingComma = false
        for byte in text.utf8 {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                continue
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
                if deepest > limit { return (deepest, trailingComma) }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                trailingComma = trailingComma || pendingComma
            default:
                break
            }
            pendingComma = byte == UInt8(ascii: ",")
        }
        return (deepest, trailingComma)
    }
}
