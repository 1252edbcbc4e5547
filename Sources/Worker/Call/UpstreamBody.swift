import Foundation
import Shared

/// What an upstream's body holds that PostgreSQL cannot store, cleaned before the body is
/// decoded (SYSTEM.md, guarantee 11: text from upstreams is cleaned, not refused).
///
/// JSON may spell characters that PostgreSQL's `text` and `jsonb` refuse: `\u0000`, and UTF-16
/// surrogates without their other half (`\ud800` alone), which Foundation's decoder rejects
/// outright. Both become U+FFFD here, in one pass over the bytes, so the answer decodes and
/// settles like any other instead of failing the job's settlement again and again.
enum UpstreamBody {
    /// The body with every `\u0000` escape and every unpaired surrogate escape inside a JSON
    /// string replaced by `\ufffd`. Bytes outside strings, and well-formed escapes, are kept as
    /// they are; the body is returned unchanged (without a copy) when there is nothing to clean.
    static func cleaned(_ body: Data) -> Data {
        body.withUnsafeBytes { raw -> Data in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard bytes.contains(UInt8(ascii: "\\")) else { return body }
            var out: [UInt8] = []
            var copiedUpTo = 0
            var inString = false
            var i = 0
            func replace(_ range: Range<Int>) {
                if out.isEmpty { out.reserveCapacity(bytes.count) }
                out.append(contentsOf: bytes[copiedUpTo..<range.lowerBound])
                out.append(contentsOf: Array(#"\ufffd"#.utf8))
                copiedUpTo = range.upperBound
            }
            while i < bytes.count {
                let byte = bytes[i]
                if !inString {
                    if byte == UInt8(ascii: "\"") { inString = true }
                    i += 1
                    continue
                }
                if byte == UInt8(ascii: "\"") {
                    inString = false
                    i += 1
                    continue
                }
                guard byte == UInt8(ascii: "\\"), i + 1 < bytes.count else {
                    i += 1
                    continue
                }
                guard bytes[i + 1] == UInt8(ascii: "u"), let unit = JSONEscape.hex4(bytes, at: i + 2) else {
                    i += 2  // `\"`, `\\`, `\n`…: skip the escaped character.
                    continue
                }
                if (0xD800...0xDBFF).contains(unit), i + 7 < bytes.count, bytes[i + 6] == UInt8(ascii: "\\"), bytes[i + 7] == UInt8(ascii: "u"),
                    let low = JSONEscape.hex4(bytes, at: i + 8), (0xDC00...0xDFFF).contains(low)
                {
                    i += 12  // A whole surrogate pair: one character, kept.
                } else if JSONEscape.isUnstorable(unit) {
                    replace(i..<(i + 6))
                    i += 6
                } else {
                    i += 6
                }
            }
            guard !out.isEmpty else { return body }
            out.append(contentsOf: bytes[copiedUpTo...])
            return Data(out)
        }
    }
}
