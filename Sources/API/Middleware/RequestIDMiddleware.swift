import Foundation
import HTTPTypes
import Hummingbird

/// Every answer carries `X-Request-Id`: the caller's, when it sent a sane one, otherwise a new
/// one. The id is put in the request's logger metadata so that log lines and answers match.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    static var headerName: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id: String
        if let given = request.headers[Self.headerName], Self.isAcceptable(given) {
            id = given
        } else {
            id = UUID().uuidString.lowercased()
        }
        var context = context
        context.logger[metadataKey: "request_id"] = .string(id)
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
