import Foundation
import HTTPTypes
import Hummingbird
import Shared

/// The door of every dashboard route but sign-in: a request without a live session goes to the
/// sign-in page; a POST must also carry its session's CSRF token, and its action is audited as
/// the API's admin mutations are (``AuditMiddleware``, with the session's admin as actor), then
/// answered with a redirect and a flash message (post/redirect/get: a reload repeats nothing).
struct DashboardGate: Sendable {
    static let cookieName = "saas_admin_session"

    let sessions: any DashboardSessionStore
    let audit: AuditMiddleware
    /// `keyFingerprint(MASTER_KEY)` of this process: a session signed in with another key (one
    /// rotated away, say after a leak) is ended at its next request rather than kept for hours.
    let adminFingerprint: String
    /// Set on `ENVIRONMENT=production`: the cookie then travels over HTTPS only.
    let secureCookies: Bool
    /// The cookie's lifetime: the session's absolute one (Redis ends it earlier when idle).
    let cookieMaxAge: Int

    typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response

    /// The session named by the request's cookie, if it is live and was opened with the admin key
    /// this process runs with; one opened with an earlier key is ended here (signed out).
    func session(_ request: Request, takingFlash: Bool) async throws -> DashboardSession? {
        guard let token = request.cookies[Self.cookieName]?.value, !token.isEmpty else { return nil }
        guard let session = try await sessions.find(token: token, takingFlash: takingFlash) else { return nil }
        guard constantTimeEquals(session.actor, adminFingerprint) else {
            try await sessions.end(token: session.token)
            return nil
        }
        return session
    }

    /// A page: needs a session; the context's identity is the session's admin.
    func page(_ body: @escaping @Sendable (Request, AppRequestContext, DashboardSession) async throws -> Response) -> Handler {
        { request, context in
            guard let session = try await session(request, takingFlash: true) else { return Self.redirect(to: "/admin/login") }
            var context = context
            context.identity = .admin(fingerprint: session.actor)
            return try await body(request, context, session)
        }
    }

    /// A form's action: a session, the form's CSRF token (else 403, nothing run), then `body`
    /// under the audit; its flash (or the refusal's sentence) is left for the page it redirects to.
    /// `back` names that page when the action is refused; a success may name another.
    func action(
        back: @escaping @Sendable (AppRequestContext) -> String,
        _ body: @escaping @Sendable (DashboardForm, AppRequestContext) async throws -> DashboardOutcome
    ) -> Handler {
        { request, context in
            guard let session = try await session(request, takingFlash: false) else { return Self.redirect(to: "/admin/login") }
            let form = try await DashboardForm(request)
            guard DashboardCSRF.matches(form[DashboardCSRF.field], session) else { throw APIError.dashboardFormTokenRefused }
            var context = context
            context.identity = .admin(fingerprint: session.actor)
            var outcome = DashboardOutcome(flash: "", location: back(context))
            do {
                _ = try await audit.handle(request, context: context) { _, context in
                    let done = try await body(form, context)
                    outcome = DashboardOutcome(flash: done.flash, location: done.location ?? outcome.location)
                    return Response(status: .seeOther)
                }
            } catch {
                outcome.flash = APIError(answering: error, logger: context.logger).detail
                outcome.isError = true
            }
            if !outcome.flash.isEmpty {
                try await sessions.leave(DashboardFlash(message: outcome.flash, isError: outcome.isError), token: session.token)
            }
            return Self.redirect(to: outcome.location ?? "/admin")
        }
    }

    /// 303 See Other: the browser follows with a GET.
    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// The session cookie: HttpOnly, SameSite=Strict, only for `/admin`, Secure in production.
    func cookie(_ session: DashboardSession) -> Cookie {
        Cookie(
            name: Self.cookieName,
            value: session.token,
            maxAge: cookieMaxAge,
            path: "/admin",
            secure: secureCookies,
            httpOnly: true,
            sameSite: .strict
        )
    }

    /// The cookie's removal at sign-out.
    func clearedCookie() -> Cookie {
        Cookie(name: Self.cookieName, value: "", maxAge: 0, path: "/admin", secure: secureCookies, httpOnly: true, sameSite: .strict)
    }
}

/// What an action did: the flash message and, when not the gate's `back`, the page to show next.
struct DashboardOutcome: Sendable {
    var flash: String
    var location: String?
    var isError = false

    init(flash: String, location: String? = nil) {
        self.flash = flash
        self.location = location
    }
}
