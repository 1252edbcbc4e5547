import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus
import Shared

/// `GET /metrics`: the process's registry in Prometheus' text format (API.md, Operations).
///
/// Open to anyone, like `/health`: it is meant for the cluster network — the scraper reaches it
/// there, and the public ingress does not route it (README). Its labels hold no key, job id or
/// content, only route templates, statuses, bounded team ids and provider names. With
/// `METRICS_ENABLED=false` there is no registry and the route answers 404 with a `detail`.
struct MetricsController<Context: RequestContext>: Sendable {
    let registry: PrometheusCollectorRegistry?

    func addRoutes(to routes: RouteTable<Context>) {
        routes.get("/metrics") { _, _ in try answer() }
    }

    func answer() throws -> Response {
        guard let registry else { throw APIError.metricsDisabled }
        let body = MetricsExposition.body(of: registry)
        return Response(
            status: .ok,
            headers: [.contentType: MetricsExposition.contentType],
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}
