import Foundation
import Shared

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

    /// A success whose content is far past what `maxTokens` allows, as the upstream malfunction
    /// it is (transient: retried, then the next model); anything else as it was.
    static func refusingOverlong(_ result: Result<UpstreamResponse, UpstreamFailure>, maxTokens: Int) -> Result<UpstreamResponse, UpstreamFailure> {
        guard case .success(let response) = result, (response.content?.utf8.count ?? 0) > maxContentBytes(maxTokens: maxTokens) else {
            return result
        }
        return .failure(
            UpstreamFailure(
                kind: .transient,
                statusCode: response.statusCode,
                message: "answer far longer than max_tokens allows",
                requestID: response.requestID
            )
        )
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
