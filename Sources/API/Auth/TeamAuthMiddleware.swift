import HTTPTypes
import Hummingbird
import Shared

/// Team routes: `Authorization: Bearer sk-…`, looked up by the key's SHA-256 (one index probe,
/// cached for half a second), refused when the team is suspended.
struct TeamAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let teams: any TeamStore
    let cache: KeyCache
    let failures: FailedAuthRecorder
    /// Admin routes that a team may also use (its own balance and ledger) let the admin key in.
    var admin: AdminAuthMiddleware?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let admin, request.headers[AdminAuthMiddleware.header] != nil {
            try admin.authenticate(request, &context)
        } else {
            try await authenticate(request, &context)
        }
        return try await next(request, context)
    }

    private func authenticate(_ request: Request, _ context: inout Context) async throws {
        guard let header = request.headers[.authorization], !header.isEmpty else {
            failures.record(.teamMissing, source: context.sourceAddress)
            throw APIError.unauthorized("Missing Authorization header. Expected: 'Authorization: Bearer sk-...'")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            failures.record(.teamMissing, source: context.sourceAddress)
            throw APIError.unauthorized("Missing Authorization header. Expected: 'Authorization: Bearer sk-...'")
        }
        let key = String(parts[1]).trimmingCharacters(in: .whitespaces)
        guard VirtualKey.isWellFormed(key), let identity = try await lookup(VirtualKey.hash(key)) else {
            failures.record(.teamInvalid, source: context.sourceAddress)
            throw APIError.unauthorized("Invalid API key")
        }
        guard identity.status == .active else {
            throw APIError.forbidden("Team access is suspended. Please contact support.")
        }
        context.identity = .team(identity)
    }

    private func lookup(_ hash: [UInt8]) async throws -> TeamIdentity? {
        try await cache.identity(for: hash) { [teams] in try await teams.identity(forKeyHash: hash) }
    }
}
