import Hummingbird
import Logging
import Shared

/// Turns whatever a handler threw into an ``APIError`` answer, so every error leaves as JSON with
/// a `detail`: domain refusals get their API.md answers, Hummingbird's own errors (unknown path,
/// oversized body) keep their status, a store that is down is a 503, and anything unexpected is
/// logged with the request id and answered with a generic 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return Self.apiError(for: error, logger: context.logger).makeResponse()
        }
    }

    /// The one mapping from any error to the API's answer.
    static func apiError(for error: any Error, logger: Logger?) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as DomainError:
            return APIError(error)
        case let error as PostgresError:
            switch error {
            case .commitOutcomeUnknown:
                logger?.error("commit outcome unknown", metadata: ["error": "\(error)"])
                return .serviceUnavailable("The outcome of the request is unknown; retry with the same Idempotency-Key")
            case .invalidParameter:
                return .unprocessable("Text fields must not contain NUL characters (\\u0000)")
            case .server(let state, _, _) where state.hasPrefix("22"):
                // Class 22, data exception: a client's value the database cannot store (an
                // escape `jsonb` refuses, a number out of a column's range). Bodies are checked
                // before they get here; this is the net under whatever a check misses.
                logger?.warning("database refused a value", metadata: ["error": "\(error)"])
                return .unprocessable("A value in the request cannot be stored")
            case .connectFailed, .connectionLost, .shutdown:
                logger?.error("database unavailable", metadata: ["error": "\(error)"])
                return .serviceUnavailable("The database is not available; retry later")
            default:
                logger?.error("database error", metadata: ["error": "\(error)"])
                return .internalError
            }
        case let error as BatcherOverloaded:
            logger?.debug("submit queue full", metadata: ["limit": "\(error.maxPending)"])
            return .overloaded("Too many submissions are waiting; retry after 1 second", retryAfter: 1)
        case let error as PostgresPoolError:
            logger?.debug("database wait line full", metadata: ["error": "\(error)"])
            return .overloaded("The database is busy; retry after 1 second", retryAfter: 1)
        case let error as LongPollRefused:
            switch error {
            case .team: return .tooManyRequests("Too many long polls of this team are waiting; retry after 1 second", retryAfter: 1)
            case .process: return .tooManyRequests("Too many long polls are waiting; retry after 1 second", retryAfter: 1)
            }
        case let error as RedisError:
            logger?.error("redis error", metadata: ["error": "\(error)"])
            return .serviceUnavailable("The queue is not available; retry later")
        case let error as HTTPError:
            return translate(error)
        default:
            logger?.error("unhandled error", metadata: ["error": "\(String(reflecting: type(of: error)))", "description": "\(error)"])
            return .internalError
        }
    }

    static func translate(_ error: HTTPError) -> APIError {
        switch error.status {
        case .notFound: return .notFound("Not found")
        case .methodNotAllowed: return .methodNotAllowed
        case .contentTooLarge: return .payloadTooLarge(limit: BodyLimit.default)
        case .badRequest: return .badRequest(error.body ?? "Bad request")
        case .unauthorized: return .unauthorized(error.body ?? "Unauthorized")
        case .forbidden: return .forbidden(error.body ?? "Forbidden")
        case .serviceUnavailable: return .serviceUnavailable(error.body ?? "Service unavailable")
        default:
            if error.status.code >= 500 { return .internalError }
            return .badRequest(error.body ?? error.status.reasonPhrase)
        }
    }
}
