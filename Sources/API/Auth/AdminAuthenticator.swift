import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Shared

/// The admin key: `X-Admin-Key` must equal `MASTER_KEY`, compared in constant time. A team key
/// is never an admin key.
///
/// A request without the header is not this authenticator's (nil: the next one in the chain, or
/// ``IdentityRequired``, decides). A header that is there but empty or wrong is refused here, as
/// an admin attempt that failed — also on the routes a team key opens too, so that presenting
/// `X-Admin-Key` always means admin authentication.
struct AdminAuthenticator: AuthenticatorMiddleware {
    typealias Context = AppRequestContext
    static let header = HTTPField.Name("X-Admin-Key")!

    let masterKey: String
    let failures: FailedAuthRecorder

    func authenticate(request: Request, context: Context) throws -> Context.Identity? {
        guard let key = request.headers[Self.header] else { return nil }
        guard !key.isEmpty else {
            failures.record(.adminMissing, source: context.sourceAddress)
            throw APIError.missingAdminKey
        }
        guard constantTimeEquals(key, masterKey) else {
            failures.record(.adminInvalid, source: context.sourceAddress)
            throw APIError.invalidAdminKey
        }
        return .admin(fingerprint: keyFingerprint(key))
    }
}
