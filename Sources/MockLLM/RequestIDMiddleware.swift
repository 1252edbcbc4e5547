import Hummingbird
import Logging

/// Gives every request an id, sends it back as `x-request-id: req_<32 hex>` on every answer, and
/// turns what the routes throw (404 for an unknown path, anything unexpected) into a JSON error
/// body in OpenAI's format, so no answer of the mock is plain text.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = MockRequestContext

    func handle(
        _ request: Request,
        context: MockRequestContext,
        next: (Request, MockRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.requestID = RandomID.make()
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Self.errorResponse(for: error, request: request, requestID: context.requestID)
            context.logger.debug("request failed", metadata: ["error": "\(error)"])
        }
        response.headers[.xRequestID] = "req_" + context.requestID
        return response
    }

    private static func errorResponse(for error: any Error, request: Request, requestID: String) -> Response {
        let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
        let upstreamError: UpstreamError =
            switch status {
            case .notFound: .notFound(method: request.method.rawValue, path: request.uri.path)
            case .contentTooLarge: .bodyTooLarge
            case .badRequest: .invalidRequest(JSONBody.notJSON)
            default: .serverError
            }
        return upstreamError.response(.openAI, requestID: requestID)
    }
}
