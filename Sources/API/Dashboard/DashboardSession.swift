import Crypto
import Foundation
import Shared

/// A signed-in admin's dashboard session, as a request finds it.
///
/// The cookie carries `token` (32 random bytes); the store keeps only the token's SHA-256, so a
/// copy of Redis opens no session. The admin key itself is never kept: `actor` is its
/// fingerprint, the name the audit log gives it.
struct DashboardSession: Sendable, Equatable {
    var token: String
    /// The synchronizer token every form of this session carries (``DashboardCSRF``).
    var csrf: String
    /// `keyFingerprint(MASTER_KEY)` at sign-in: the audit log's actor for this session's actions,
    /// and what ``DashboardGate`` compares with the key the process runs with now.
    var actor: String
    /// The message left by the last action, shown once by the next page.
    var flash: DashboardFlash?
}

/// A one-time message after an action ("Job … cancelled"), or the refusal that stopped it.
struct DashboardFlash: Sendable, Equatable {
    var message: String
    var isError: Bool
}

/// Random tokens for sessions and CSRF, and the name a session token is stored under.
enum DashboardToken {
    /// 32 bytes from the system's CSPRNG, base64url without padding (43 characters, cookie-safe).
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return VirtualKey.base64URL((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// The hex SHA-256 of a token: what the store keys a session by.
    static func hash(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A token as this dashboard makes them, checked before it reaches Redis: 43 base64url
    /// characters; anything else names no session.
    static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == 43 && token.utf8.allSatisfy(VirtualKey.isURLSafe)
    }
}
