import Shared

/// Synchronizer tokens: each session has one random token, every form of that session carries it
/// in a hidden `csrf` field, and a POST whose field is missing or differs (compared in constant
/// time) is refused with a 403 before anything runs. SameSite=Strict already keeps the cookie off
/// cross-site requests; the token is the second lock, independent of the browser.
enum DashboardCSRF {
    /// The form field every dashboard form carries.
    static let field = "csrf"

    static func matches(_ sent: String?, _ session: DashboardSession) -> Bool {
        guard let sent, !sent.isEmpty else { return false }
        return constantTimeEquals(sent, session.csrf)
    }
}
