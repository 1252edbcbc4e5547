import Foundation
import Hummingbird
import NIOCore
import NIOFoundationCompat
import Shared

/// The body of `POST /api/jobs/batch`: `{"jobs": [submit bodies], "all_or_nothing": false}`, up to
/// 1,000 jobs in 16 MiB.
///
/// The envelope is checked as any body is (400 when it is not JSON, 422 naming its field), but
/// each job is kept as its own bytes and decoded later exactly as a single submit's body, so that
/// one bad job — text PostgreSQL cannot store, a number out of range — is that job's 422 and not
/// the batch's.
struct BatchRequest: Sendable {
    static let bodyLimit = 16 << 20
    static let maxJobs = 1_000

    /// Each job's JSON, in order.
    var items: [Data]
    var allOrNothing: Bool

    /// What the envelope's decoding checks: the jobs' count and the flag's type; the jobs
    /// themselves are skipped.
    private struct Envelope: Decodable {
        var jobs: [Skipped]
        var allOrNothing: Bool?

        enum CodingKeys: String, CodingKey {
            case jobs
            case allOrNothing = "all_or_nothing"
        }
    }

    private struct Skipped: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    /// Reads the body (413 past 16 MiB) and checks its envelope.
    static func read(_ request: Request) async throws -> BatchRequest {
        let data: Data
        do {
            data = Data(buffer: try await request.body.collect(upTo: bodyLimit))
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: bodyLimit)
        }
        return try parse(data)
    }

    /// The envelope's checks, in ``StrictJSONDecoder``'s order, and the jobs' bytes.
    static func parse(_ data: Data) throws(APIError) -> BatchRequest {
        guard String(bytes: data, encoding: .utf8) != nil else { throw .bodyNotUTF8 }
        guard !JSONStrictness.hasTrailingComma(data) else { throw .bodyNotJSON }
        let envelope: Envelope
        do {
            // Foundation refuses a lone surrogate escape as invalid JSON; in a job it is that
            // job's 422, found when the job is decoded, so the envelope is read without them.
            envelope = try JSONDecoder().decode(Envelope.self, from: withoutSurrogateEscapes(data))
        } catch let error as DecodingError {
            throw APIError(decoding: error)
        } catch {
            throw .bodyInvalid
        }
        guard !envelope.jobs.isEmpty else { throw .batchEmpty }
        guard envelope.jobs.count <= maxJobs else { throw .batchTooLarge(maxJobs) }
        guard let ranges = JSONSlices.arrayElements(under: "jobs", in: data), ranges.count == envelope.jobs.count else {
            throw .bodyNotJSON
        }
        let items = ranges.map { data.subdata(in: (data.startIndex + $0.lowerBound)..<(data.startIndex + $0.upperBound)) }
        return BatchRequest(items: items, allOrNothing: envelope.allOrNothing ?? false)
    }

    /// `data` with every `\uD800`–`\uDFFF` escape written as `\u0041` (same length, same
    /// structure): only for checking the envelope, whose own fields hold no text.
    private static func withoutSurrogateEscapes(_ data: Data) -> Data {
        var copy: Data?
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var i = 0
            while i + 5 < bytes.count {
                if bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u"), let unit = JSONEscape.hex4(bytes, at: i + 2),
                    (0xD800...0xDFFF).contains(unit)
                {
                    if copy == nil { copy = data }
                    let at = data.startIndex + i + 2
                    copy?.replaceSubrange(at..<(at + 4), with: Array("0041".utf8))
                    i += 6
                } else {
                    i += 1
                }
            }
        }
        return copy ?? data
    }
}
