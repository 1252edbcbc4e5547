import HTTPTypes
import Hummingbird
import NIOCore

/// Signing in and out. The key typed into the form is checked by the API's own
/// ``AdminAuthenticator`` (constant time; a failure counted by ``FailedAuthRecorder`` like any
/// failed admin authentication) and then forgotten: the session holds its fingerprint only, and
/// no page, cookie or session ever holds the key.
struct DashboardLoginController {
    let gate: DashboardGate
    let templates: DashboardTemplates
    let authenticator: AdminAuthenticator

    /// The sign-in form; after a refusal, which one (the sentences are the template's).
    struct LoginView {
        var missing = false
        var wrong = false
    }

    func addRoutes(to dashboard: RouteTable<AppRequestContext>) {
        dashboard.get("/login", use: form)
        dashboard.post("/login", use: signIn)
        dashboard.post("/logout", use: signOut)
    }

    @Sendable func form(_ request: Request, context: AppRequestContext) async throws -> Response {
        if try await gate.session(request, takingFlash: false) != nil { return DashboardGate.redirect(to: "/admin") }
        return templates.page("login", DashboardPage(nil, title: "Sign in", session: nil, body: LoginView()))
    }

    @Sendable func signIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await DashboardForm(request)
        var context = context
        do {
            context.identity = try authenticator.authenticate(request: Self.keyRequest(form["key"] ?? ""), context: context)
        } catch let refusal as APIError {
            let view = LoginView(missing: refusal == .missingAdminKey, wrong: refusal != .missingAdminKey)
            let page = DashboardPage(nil, title: "Sign in", session: nil, body: view)
            return templates.page("login", page, status: .unauthorized)
        }
        guard case .admin(let fingerprint) = context.identity else { throw APIError.invalidAdminKey }
        // Audited as an admin action of its own: who signed in, from which request.
        return try await gate.audit.handle(request, context: context) { _, _ in
            let session = try await gate.sessions.create(actor: fingerprint)
            var response = DashboardGate.redirect(to: "/admin")
            response.setCookie(gate.cookie(session))
            return response
        }
    }

    @Sendable func signOut(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let session = try await gate.session(request, takingFlash: false) else { return DashboardGate.redirect(to: "/admin/login") }
        let form = try await DashboardForm(request)
        guard DashboardCSRF.matches(form[DashboardCSRF.field], session) else { throw APIError.dashboardFormTokenRefused }
        var context = context
        context.identity = .admin(fingerprint: session.actor)
        return try await gate.audit.handle(request, context: context) { _, _ in
            try await gate.sessions.end(token: session.token)
            var response = DashboardGate.redirect(to: "/admin/login")
            response.setCookie(gate.clearedCookie())
            return response
        }
    }

    /// The typed key as the `X-Admin-Key` header of a request of its own, so that the API's one
    /// check decides. A key with a character no header may hold cannot be the admin key: it is
    /// checked as a wrong one (and counted as such); so is one with a space, which header
    /// values may lose at their ends.
    static func keyRequest(_ key: String) -> Request {
        let usable = key.unicodeScalars.allSatisfy { (0x21...0x7E).contains($0.value) }
        var head = HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/admin/login")
        head.headerFields[AdminAuthenticator.header] = usable ? key : "-"
        return Request(head: head, body: .init(buffer: ByteBuffer()))
    }
}
