import Foundation
import Shared

/// The API's JSON out: snake_case keys are spelled out by each type's `CodingKeys`; timestamps are
/// RFC 3339 in UTC with milliseconds (`2026-11-26T18:47:10.266Z`). Bodies come in through
/// ``StrictJSONDecoder``.
enum JSONCoding {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestamp(date))
        }
        return encoder
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}

/// A value that is encoded as JSON `null` when absent. Swift's synthesized coding leaves nil
/// properties out, but API.md's lists always carry `next_cursor`, `null` on the last page.
struct Nullable<Wrapped: Encodable & Sendable>: Encodable, Sendable, ExpressibleByNilLiteral {
    var value: Wrapped?

    init(_ value: Wrapped?) { self.value = value }
    init(nilLiteral: ()) { value = nil }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
