import Foundation
import HTTPTypes
import Shared

/// The answer of `POST /api/jobs/batch`: one entry per job, in order — `{index, job_id, status,
/// credits_reserved}` for a job created, `{index, error: {status, detail}}` for one refused, with
/// the status and sentence a single submit of that body would have answered.
struct BatchAnswer: Encodable, Sendable {
    var jobs: [Entry]

    enum Entry: Encodable, Sendable {
        case created(index: Int, jobID: UUID, status: JobStatus, creditsReserved: Int)
        case refused(index: Int, APIError)

        private enum Keys: String, CodingKey {
            case index
            case jobID = "job_id"
            case status
            case creditsReserved = "credits_reserved"
            case error
            case detail
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            switch self {
            case .created(let index, let jobID, let status, let reserved):
                try container.encode(index, forKey: .index)
                try container.encode(jobID.lowercasedString, forKey: .jobID)
                try container.encode(status.rawValue, forKey: .status)
                // A job created without work reserves nothing; a single submit leaves the field out.
                if status != .pending { try container.encode(reserved, forKey: .creditsReserved) }
            case .refused(let index, let error):
                try container.encode(index, forKey: .index)
                var nested = container.nestedContainer(keyedBy: Keys.self, forKey: .error)
                try nested.encode(Int(error.status.code), forKey: .status)
                try nested.encode(error.detail, forKey: .detail)
            }
        }
    }

    /// The entries of a batch whose checked jobs are `submitted` (their original indexes) with
    /// these outcomes, and whose other jobs were refused by the checks.
    init(count: Int, refused: [Int: APIError], submitted: [Int], outcomes: [SubmitOutcome]) {
        var entries: [Entry?] = Array(repeating: nil, count: count)
        for (index, error) in refused { entries[index] = .refused(index: index, error) }
        for (index, outcome) in zip(submitted, outcomes) {
            switch outcome {
            case .created(let jobID, let status, _, let reserved), .replayed(let jobID, let status, _, let reserved, _):
                entries[index] = .created(index: index, jobID: jobID, status: status, creditsReserved: reserved)
            case .refused(let reason):
                entries[index] = .refused(index: index, APIError(reason))
            }
        }
        jobs = entries.enumerated().map { index, entry in entry ?? .refused(index: index, .internalError) }
    }

    /// The answer as it is sent and kept.
    func text() throws -> String {
        String(decoding: try JSONCoding.encoder().encode(self), as: UTF8.self)
    }
}
