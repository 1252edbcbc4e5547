public import Logging

/// One log event as one line of JSON:
/// `{"timestamp":"2026-01-02T03:04:05.678Z","level":"info","label":"saas-api","message":"…","metadata":{…},"source":"API"}`.
///
/// Built by hand rather than with an encoder: a log line is written on every request, and the
/// escaping is the whole difficulty. Strings follow RFC 8259 — `"` and `\` escaped, every control
/// character (U+0000…U+001F, and U+007F) as an escape — and U+2028 and U+2029 are escaped too, so
/// that a line stays one line for shippers that split on JavaScript's line terminators.
public enum JSONLogLine {
    /// The line for an event (without its newline). Metadata values keep their shape: strings,
    /// arrays and dictionaries; a `stringConvertible` value is written as its description.
    public static func make(
        timestamp: String,
        level: Logger.Level,
        label: String,
        message: String,
        metadata: Logger.Metadata,
        source: String,
        error: (any Error)? = nil
    ) -> String {
        var line = "{\"timestamp\":\""
        line.reserveCapacity(128 + message.utf8.count)
        line += timestamp
        line += "\",\"level\":\""
        line += level.rawValue
        line += "\",\"label\":"
        appendString(label, to: &line)
        line += ",\"message\":"
        appendString(message, to: &line)
        if !metadata.isEmpty {
            line += ",\"metadata\":"
            appendObject(metadata, to: &line)
        }
        line += ",\"source\":"
        appendString(source, to: &line)
        if let error {
            line += ",\"error\":"
            appendString(String(describing: error), to: &line)
        }
        line += "}"
        return line
    }

    /// `text` as a JSON string, quotes included.
    public static func quoted(_ text: String) -> String {
        var out = ""
        appendString(text, to: &out)
        return out
    }

    static func appendString(_ text: String, to out: inout String) {
        out += "\""
        // The common case — nothing to escape — copies the string whole.
        guard text.unicodeScalars.contains(where: needsEscape) else {
            out += text
            out += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if needsEscape(scalar) {
                    out += "\\u"
                    out += hex4(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x22, 0x5C, 0x7F, 0x2028, 0x2029: return true
        default: return false
        }
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = Array("0123456789abcdef")
        return String([
            digits[Int((value >> 12) & 0xF)], digits[Int((value >> 8) & 0xF)], digits[Int((value >> 4) & 0xF)], digits[Int(value & 0xF)],
        ])
    }

    private static func appendObject(_ metadata: Logger.Metadata, to out: inout String) {
        out += "{"
        // Sorted keys: the same event is always the same line (tests and diffs).
        for (index, key) in metadata.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            appendString(key, to: &out)
            out += ":"
            appendValue(metadata[key]!, to: &out)
        }
        out += "}"
    }

    private static func appendValue(_ value: Logger.MetadataValue, to out: inout String) {
        switch value {
        case .string(let text): appendString(text, to: &out)
        case .stringConvertible(let convertible): appendString(convertible.description, to: &out)
        case .dictionary(let dictionary): appendObject(dictionary, to: &out)
        case .array(let values):
            out += "["
            for (index, element) in values.enumerated() {
                if index > 0 { out += "," }
                appendValue(element, to: &out)
            }
            out += "]"
        }
    }
}
