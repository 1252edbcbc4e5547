import HTTPTypes
import Hummingbird
import Shared

/// Admin routes: `X-Admin-Key` must equal `MASTER_KEY`, compared in constant time. A team key is
/// never an admin key.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let header = HTTPField.Name("X-Admin-Key")!

    let masterKey: String
    let failures: FailedAuthRecorder

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        try authenticate(request, &context)
        return try await next(request, context)
    }

    func authenticate(_ request: Request, _ context: inout Context) throws(APIError) {
        guard let key = request.headers[Self.header], !key.isEmpty else {
            failures.record(.adminMissing, source: context.sourceAddress)
            throw .unauthorized("Missing X-Admin-Key header. Admin authentication required.")
        }
        guard constantTimeEquals(key, masterKey) else {
            failures.record(.adminInvalid, source: context.sourceAddress)
            throw .unauthorized("Invalid admin API key")
        }
        context.identity = .admin(fingerprint: keyFingerprint(key))
    }
}
