public import Hummingbird

/// Every error the API answers with: each case is a status; its `detail` sentence is built by name
/// in `APIError+Details.swift`, the one place API.md's strings are written. Anything else thrown
/// becomes a 500 with a generic sentence, never a plain-text body.
public enum APIError: Error, Sendable, Equatable {
    case badRequest(String)
    case unauthorized(String)
    case forbidden(String)
    case notFound(String)
    case methodNotAllowed
    case conflict(String)
    case payloadTooLarge(limit: Int)
    /// A body or an uploaded file of a type the API does not take (415).
    case unsupportedMediaType(String)
    case unprocessable(String)
    case insufficientCredits(remaining: Int, needed: Int)
    /// A 402 whose sentence is not the one of ``insufficientCredits(remaining:needed:)`` (a
    /// batch refused whole for one item's credits).
    case paymentRequired(String)
    case serviceUnavailable(String)
    /// An upstream call this service made for the client failed for good (502).
    case badGateway(String)
    /// A bound of this process is reached (a full queue or wait line): 503 with `Retry-After`.
    case overloaded(String, retryAfter: Int)
    /// A per-caller bound is reached: 429 with `Retry-After`.
    case tooManyRequests(String, retryAfter: Int)
    case internalError

    public var status: HTTPResponse.Status {
        switch self {
        case .badRequest: return .badRequest
        case .unauthorized: return .unauthorized
        case .forbidden: return .forbidden
        case .notFound: return .notFound
        case .methodNotAllowed: return .methodNotAllowed
        case .conflict: return .conflict
        case .payloadTooLarge: return .contentTooLarge
        case .unsupportedMediaType: return .unsupportedMediaType
        case .unprocessable: return .unprocessableContent
        case .insufficientCredits, .paymentRequired: return HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required")
        case .serviceUnavailable, .overloaded: return .serviceUnavailable
        case .badGateway: return .badGateway
        case .tooManyRequests: return .tooManyRequests
        case .internalError: return .internalServerError
        }
    }

    /// Seconds a client should wait before trying again, for the answers that say so.
    public var retryAfter: Int? {
        switch self {
        case .overloaded(_, let seconds), .tooManyRequests(_, let seconds): return seconds
        default: return nil
        }
    }
}
