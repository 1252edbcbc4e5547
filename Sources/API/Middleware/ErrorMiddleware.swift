import Hummingbird
import Logging

/// Turns whatever a handler threw into an ``APIError`` answer, so every error leaves as JSON with
/// a `detail`: Hummingbird's own errors (unknown path, oversized body) keep their status, and an
/// unexpected error is logged with the request id and answered with a generic 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.makeResponse()
        } catch let error as HTTPError {
            return Self.translate(error).makeResponse()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: type(of: error)))", "description": "\(error)"])
            return APIError.internalError.makeResponse()
        }
    }

    static func translate(_ error: HTTPError) -> APIError {
        switch error.status {
        case .notFound: return .notFound("Not found")
        case .methodNotAllowed: return .methodNotAllowed
        case .contentTooLarge: return .payloadTooLarge(limit: 1 << 20)
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
