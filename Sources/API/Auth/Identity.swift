import HummingbirdAuth
import Shared

/// Who made a request, once authentication has run: hummingbird-auth's identity of the API's
/// request context, set by the authenticators of the route's chain (``AdminAuthenticator``,
/// ``TeamAuthenticator``).
extension AppRequestContext: AuthRequestContext {
    enum Identity: Sendable, Equatable {
        /// The admin key; `fingerprint` names it in the audit log without revealing it.
        case admin(fingerprint: String)
        case team(TeamIdentity)
    }
}
