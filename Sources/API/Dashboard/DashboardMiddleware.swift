import HTTPTypes
import Hummingbird
import Logging

/// Around every `/admin` route: the security headers of a page that shows tenants' words
/// (a Content-Security-Policy that allows only this origin's files — no inline script or style —,
/// no framing, no referrer leaving the site, no caching of admin pages), and errors answered as
/// HTML pages instead of the API's JSON.
struct DashboardMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    /// nil when the templates could not be loaded at start: every route then answers 503.
    let templates: DashboardTemplates?

    static let headers: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!: "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        .cacheControl: "no-store",
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        if let templates {
            do {
                response = try await next(request, context)
            } catch {
                let refusal = APIError(answering: error, logger: context.logger)
                let page = DashboardPage(nil, title: "Error \(refusal.status.code)", session: nil, body: ErrorView(refusal))
                response = templates.page("error", page, status: refusal.status)
            }
        } else {
            response = Response(
                status: .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: .init(string: "The dashboard's templates could not be loaded; see the API's log.\n"))
            )
        }
        for field in Self.headers where response.headers[field.name] == nil {
            response.headers.append(field)
        }
        return response
    }

    struct ErrorView {
        var status: Int
        var reason: String
        var detail: String

        init(_ refusal: APIError) {
            status = refusal.status.code
            reason = refusal.status.reasonPhrase
            detail = refusal.detail
        }
    }
}
