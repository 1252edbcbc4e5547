/// A value in a ``BenchReport``'s JSON line.
enum ReportValue {
    case int(Int)
    /// Fixed-point with this many decimal places.
    case number(Double, places: Int)
    /// A string, or null.
    case string(String?)
    /// An object of counts, keys in the given order (e.g. `{"202":19990,"503":10}`).
    case counts([(String, Int)])

    var json: String {
        switch self {
        case .int(let value):
            return String(value)
        case .number(let value, let places):
            return BenchReport.format(value, places: places)
        case .string(let value):
            return value.map(jsonString) ?? "null"
        case .counts(let pairs):
            return "{" + pairs.map { "\(jsonString($0.0)):\($0.1)" }.joined(separator: ",") + "}"
        }
    }
}

/// `text` as a JSON string literal: quotes, backslashes and control characters escaped.
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
