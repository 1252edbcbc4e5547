import Foundation

/// `pattern`: a regular expression a string must match somewhere (JSON Schema patterns are not
/// anchored; `^…$` anchors them), run by ICU through `NSRegularExpression`, whose syntax covers
/// the ECMA-262 patterns schemas are written in.
///
/// A backtracking engine can take exponential time (`(a+)+$` against forty `a`s and a `b`), and
/// neither ICU nor Foundation bounds it: matches run with `.reportProgress`, whose callback ICU
/// calls every few thousand steps, and stop when the check's budget of callbacks is spent.
enum SchemaPattern {
    /// Longer patterns are refused at submit and ignored by the checker.
    static let maxCharacters = 1000

    /// The compiled pattern; nil when it is too long or ICU refuses it.
    static func compile(_ pattern: String) -> NSRegularExpression? {
        guard pattern.count <= maxCharacters else { return nil }
        return try? NSRegularExpression(pattern: pattern)
    }

    /// Whether `regex` matches somewhere in `string`; nil when `budget` (progress callbacks,
    /// shared by the whole check) ran out first.
    static func matches(_ regex: NSRegularExpression, _ string: String, budget: inout Int) -> Bool? {
        var found = false
        var exhausted = false
        var left = budget
        regex.enumerateMatches(in: string, options: [.reportProgress], range: NSRange(string.startIndex..., in: string)) { result, flags, stop in
            if result != nil {
                found = true
                stop.pointee = true
                return
            }
            if flags.contains(.completed) { return }
            left -= 1
            if left <= 0 {
                exhausted = true
                stop.pointee = true
            }
        }
        budget = max(0, left)
        if found { return true }
        return exhausted ? nil : false
    }
}
