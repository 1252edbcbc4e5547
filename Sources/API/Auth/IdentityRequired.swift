import Hummingbird
import HummingbirdAuth

/// The end of a route's authenticator chain, as hummingbird-auth's `IsAuthenticatedMiddleware`
/// but with API.md's answer: a request that no authenticator identified is a 401 naming the
/// credential the route expects, and is counted as a failed attempt.
struct IdentityRequired: RouterMiddleware {
    typealias Context = AppRequestContext

    enum Credential: Sendable {
        /// `X-Admin-Key`: admin routes.
        case adminKey
        /// `Authorization: Bearer`: team routes, and those that the admin key opens too.
        case teamKey
    }

    let credential: Credential
    let failures: FailedAuthRecorder

    init(_ credential: Credential, failures: FailedAuthRecorder) {
        self.credential = credential
        self.failures = failures
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.identity == nil else { return try await next(request, context) }
        switch credential {
        case .adminKey:
            failures.record(.adminMissing, source: context.sourceAddress)
            throw APIError.missingAdminKey
        case .teamKey:
            failures.record(.teamMissing, source: context.sourceAddress)
            throw APIError.missingTeamKey
        }
    }
}
