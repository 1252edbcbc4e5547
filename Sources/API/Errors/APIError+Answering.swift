import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Postgres
import Redis
import Shared

/// Any error → the API's answer: domain refusals get their API.md answers, Hummingbird's own
/// errors (unknown path, oversized body) keep their status, a store that is down is a 503, and
/// anything unexpected is logged and answered with a generic 500.
extension APIError {
    /// The one mapping from any error to the API's answer (the answers and their sentences are
    /// named in `Errors/APIError+Details.swift`).
    init(answering error: any Error, logger: Logger?) {
        self = Self.mapping(error, logger: logger)
    }

    private static func mapping(_ error: any Error, logger: Logger?) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as DomainError:
            return APIError(error)
        case let error as PostgresError:
            switch error {
            case .commitOutcomeUnknown:
                logger?.error("commit outcome unknown", metadata: ["error": "\(error)"])
                return .outcomeUnknownRetryWithKey
            case .invalidParameter:
                return .textWithNUL
            case .server(let state, _, _) where state.hasPrefix("22"):
                // Class 22, data exception: a client's value the database cannot store (an
                // escape `jsonb` refuses, a number out of a column's range). Bodies are checked
                // before they get here; this is the net under whatever a check misses.
                logger?.warning("database refused a value", metadata: ["error": "\(error)"])
                return .valueNotStorable
            case .server where ClientValueChecks.isClients(error):
                // A check on a value the client sent as written (``ClientValueChecks``); any
                // other check violation is this service's and stays a 500.
                logger?.warning("database refused a client's value", metadata: ["error": "\(error)"])
                return .valueNotStorable
            case .connectFailed, .connectionLost, .shutdown:
                logger?.error("database unavailable", metadata: ["error": "\(error)"])
                return .databaseUnavailable
            default:
                logger?.error("database error", metadata: ["error": "\(error)"])
                return .internalError
            }
        case let error as BatcherOverloaded:
            logger?.debug("submit queue full", metadata: ["limit": "\(error.maxPending)"])
            return .submitQueueFull
        case let error as PostgresPoolError:
            logger?.debug("database wait line full", metadata: ["error": "\(error)"])
            return .databaseBusy
        case let error as LongPollRefused:
            switch error {
            case .team: return .teamLongPollsFull
            case .process: return .longPollsFull
            }
        case let error as RedisError:
            logger?.error("redis error", metadata: ["error": "\(error)"])
            return .queueUnavailable
        case let error as HTTPError:
            return APIError(error)
        case let error as HTTPParserError:
            // Raised while a handler reads the body: the client closed its connection mid-body,
            // or sent what is not HTTP. Its failure, not ours (no 5xx, no error line).
            logger?.debug("request body broken off", metadata: ["error": "\(error)"])
            if case .invalidEOFState = error { return .bodyBrokenOff }
            return .malformedHTTP
        case let error as NIOTooManyBytesError:
            // A body read with `collectBody(upTo:)` past its limit (the dashboard's forms, say).
            return .payloadTooLarge(limit: error.maxBytes ?? BodyLimit.default)
        default:
            logger?.error("unhandled error", metadata: ["error": "\(String(reflecting: type(of: error)))", "description": "\(error)"])
            return .internalError
        }
    }
}
