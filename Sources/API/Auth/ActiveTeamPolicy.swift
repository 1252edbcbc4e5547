import Hummingbird
import HummingbirdAuth
import Shared

/// A suspended team's key still identifies it, but opens nothing: 403, after the 401s and before
/// anything else (API.md's order of checks). The admin is not a team and always passes.
struct ActiveTeamPolicy: AuthorizationPolicy {
    func isAuthorized(identity: AppRequestContext.Identity, request: Request) -> Bool {
        guard case .team(let team) = identity else { return true }
        guard team.status == .active else {
            FailedAuthRecorder.countSuspended()
            return false
        }
        return true
    }

    /// The policy as middleware, refusing with API.md's answer.
    static var middleware: AuthorizationPolicyMiddleware<ActiveTeamPolicy, AppRequestContext, APIError> {
        AuthorizationPolicyMiddleware(ActiveTeamPolicy(), deniedError: .teamSuspended)
    }
}
