import Hummingbird

/// `GET /admin/static/dashboard.css`: the one stylesheet, a file of the resources served as it is
/// (no build step, no CDN; the sign-in page needs it, so no session is asked).
struct DashboardAssetsController {
    let templates: DashboardTemplates

    func addRoutes(to dashboard: RouteTable<AppRequestContext>) {
        dashboard.get("/static/dashboard.css") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300"],
                body: .init(byteBuffer: templates.stylesheet)
            )
        }
    }
}
