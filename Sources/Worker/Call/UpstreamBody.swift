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

/// Numbers an upstream sends, read with bounds: a number from outside can never trap the worker
/// (a `Double` too large for `Int64`, a sum that overflows) or park a provider for centuries.
enum UpstreamNumbers {
    /// The longest wait an upstream can impose through `Retry-After`, `retry-after-ms` or its
    /// rate-limit reset headers. Longer claims are capped: the job comes back and asks again.
    static let maxWait: Duration = .seconds(600)
    /// The most tokens one call can report in each of prompt and completion: above any model's
    /// context window, far below anything that could overflow a sum over a document's calls.
    static let maxTokensPerCall = 10_000_000
    /// Request ids are echoed to tenants and stored: kept short and printable.
    static let maxRequestIDLength = 200

    /// Seconds (possibly fractional) as a bounded, non-negative duration; nil for text that is
    /// not a finite number.
    static func duration(seconds: Double) -> Duration? {
        if seconds == .infinity { return maxWait }
        guard seconds.isFinite else { return nil }
        let clamped = min(max(0, seconds), Double(maxWait.components.seconds))
        return .milliseconds(Int64((clamped * 1000).rounded()))
    }

    /// A token count as reported: integers, floats and numeric strings are read; negative values
    /// count as zero and huge ones as ``maxTokensPerCall``.
    static func tokens(_ value: JSONValue?) -> Int {
        let number: Double
        switch value {
        case .integer(let i)?: number = Double(i)
        case .number(let d)?: number = d
        case .string(let s)?: number = Double(s.trimmingCharacters(in: .whitespaces)) ?? 0
        default: return 0
        }
        guard number.isFinite, number > 0 else { return 0 }
        return Int(min(number, Double(maxTokensPerCall)))
    }

    /// The longest answer a call may return for its `max_tokens`: generous (32 bytes a token, at
    /// least 64 KiB), yet an upstream that sends megabytes for a short completion is
    /// misbehaving, and its answer is not a result to store and show.
    static func maxContentBytes(maxTokens: Int) -> Int {
        max(65_536, min(maxTokens, 1 << 40) * 32)
    }

    /// Whether `tool_calls` has the shape API.md promises tenants: absent, null, or a list of
    /// objects.
    static func isToolCallList(_ value: JSONValue?) -> Bool {
        switch value {
        case nil, .null?: return true
        case .array(let calls)?: return calls.allSatisfy { $0.objectValue != nil }
        default: return false
        }
    }

    /// A request id header as it may be stored and shown: printable ASCII, bounded.
    static func requestID(_ value: String?) -> String? {
        guard let value else { return nil }
        let printable = value.unicodeScalars.filter { $0.value >= 0x21 && $0.value <= 0x7E }
        guard !printable.isEmpty else { return nil }
        return String(String.UnicodeScalarView(printable.prefix(maxRequestIDLength)))
    }
}
