import Hummingbird

/// Turns whatever a handler threw into an ``APIError`` answer (``APIError/init(answering:logger:)``),
/// so every error leaves as JSON with a `detail`.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return APIError(answering: error, logger: context.logger).makeResponse()
        }
    }
}
