import Foundation
import Hummingbird

/// An `application/x-www-form-urlencoded` body as the dashboard's forms send it: small (16 KiB at
/// most; the largest form is a credit reason), each name once (a repeated name keeps its first
/// value).
struct DashboardForm: Sendable {
    static let maxBytes = 16 * 1024

    var fields: [String: String]

    subscript(_ name: String) -> String? { fields[name] }

    /// The field, trimmed, or nil when absent or blank.
    func text(_ name: String) -> String? {
        guard let value = fields[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    init(fields: [String: String]) {
        self.fields = fields
    }

    init(_ request: Request) async throws {
        var request = request
        let buffer = try await request.collectBody(upTo: Self.maxBytes)
        self.init(fields: Self.parse(String(buffer: buffer)))
    }

    /// `a=1&b=x+y%21` → `["a": "1", "b": "x y!"]`; a pair that does not decode is left out.
    static func parse(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : "") else { continue }
            if fields[name] == nil { fields[name] = value }
        }
        return fields
    }

    private static func decode(_ part: Substring) -> String? {
        part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
