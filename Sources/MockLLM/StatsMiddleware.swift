import Hummingbird
import Logging

/// Counts every request in `CallStats`, the control routes (`/_mock/…`) excepted, so that polling
/// the counters does not change them.
struct StatsMiddleware: RouterMiddleware {
    typealias Context = MockRequestContext

    let stats: CallStats

    func handle(
        _ request: Request,
        context: MockRequestContext,
        next: (Request, MockRequestContext) async throws -> Response
    ) async throws -> Response {
        // the router resolved the route before the middleware runs: its pattern, or "NotFound"
        let path = context.endpointPath ?? "NotFound"
        if path.hasPrefix("/_mock/") { return try await next(request, context) }
        self.stats.begin()
        do {
            let response = try await next(request, context)
            self.stats.end(path: path, status: response.status.code)
            context.logger.debug("answered", metadata: ["path": "\(path)", "status": "\(response.status.code)"])
            return response
        } catch {
            self.stats.end(path: path, status: (error as? any HTTPResponseError)?.status.code ?? 500)
            throw error
        }
    }
}
