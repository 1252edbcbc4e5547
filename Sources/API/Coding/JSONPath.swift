/// Where a raw-byte JSON scanner stands — the open objects (each with its current key) and
/// arrays (each with its current index) — so that it can name a field as API.md's 422s do
/// (`messages[0].content`). Shared by the scanners that run before decoding (``JSONStrictness``,
/// ``UnstorableText``).
enum JSONPath {
    enum Frame {
        case object(key: String?)
        case array(index: Int)
    }

    /// `models[0].priority`: keys joined by dots, indexes in brackets.
    static func describe(_ frames: [Frame]) -> String {
        var out = ""
        for frame in frames {
            switch frame {
            case .object(let key?): out += out.isEmpty ? key : ".\(key)"
            case .object(nil): break
            case .array(let index): out += "[\(index)]"
            }
        }
        return out
    }
}
