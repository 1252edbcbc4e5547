import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Shared
import UUIDText

/// Every answer carries `X-Request-Id`: the caller's, when it sent a sane one, otherwise a new
/// one. It is the request's one id: it replaces the id Hummingbird gave the request in the
/// logger's `hb.request.id` metadata, so that `context.id`, every log line of the request and the
/// answer all name the same id.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    static var headerName: HTTPField.Name { HTTPField.Name("X-Request-Id")! }
    /// Where Hummingbird keeps a request's id (read back by `RequestContext.id`).
    static var metadataKey: String { "hb.request.id" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id: String
        if let given = request.headers[Self.headerName], Self.isAcceptable(given) {
            id = given
        } else {
            id = UUIDText.lowercased(UUID.random())
        }
        var context = context
        context.logger[metadataKey: Self.metadataKey] = .string(id)
        var response = try await next(request, context)
        response.headers[Self.headerName] = id
        return response
    }

    /// Up to 200 printable ASCII characters: enough for any tracing scheme, nothing to inject
    /// into logs.
    static func isAcceptable(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 200 && id.utf8.allSatisfy { $0 > 32 && $0 < 127 }
    }
}
