import HTTPTypes
import Hummingbird
import Metrics
import Shared
import Telemetry

/// `saas_http_requests_total{method,route,status}` and `saas_http_request_duration_seconds` for
/// every request. Hummingbird's own `MetricsMiddleware` records other names (`hb.requests`,
/// `http.server.request.duration`) with OpenTelemetry's label names, so this one follows it with
/// API.md's.
///
/// Bounded by construction: `route` is the matched route's template (Hummingbird's
/// `endpointPath`, e.g. `/api/jobs/{job_id}`, or `NotFound` for a path no route has) — never the
/// path, so a job id or a scanner's guesses never become a series —, `method` is one of the
/// methods the API answers or `other`, and `status` a status code. Each series' handles are made
/// once (``MetricCache``); a request then costs a clock read, a lock and a dictionary probe.
///
/// The duration is the time until the answer's head is ready: a long poll counts its wait, an
/// SSE stream its setup, not its life.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private struct Series: Hashable, Sendable {
        var method: String
        var route: String
        var status: Int
    }

    private struct Handles: Sendable {
        var requests: Counter
        var duration: Timer
    }

    private let series: MetricCache<Series, Handles>

    init(factory: any MetricsFactory = MetricsSystem.factory) {
        series = MetricCache { series in
            let labels = [
                (MetricLabel.method, series.method), (MetricLabel.route, series.route), (MetricLabel.status, String(series.status)),
            ]
            return Handles(
                requests: Counter(label: MetricName.httpRequests, dimensions: labels, factory: factory),
                duration: Timer(label: MetricName.httpRequestDuration, dimensions: labels, factory: factory)
            )
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request.method, context, status: response.status.code, since: start)
            return response
        } catch {
            // The error middleware inside answers what handlers throw; what still escapes is
            // answered by Hummingbird with the error's status, or 500.
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            record(request.method, context, status: status, since: start)
            throw error
        }
    }

    private func record(_ method: HTTPRequest.Method, _ context: Context, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let key = Series(
            method: Self.label(of: method),
            route: context.endpointPath ?? MetricLabel.unmatchedRoute,
            status: status
        )
        let handles = series[key]
        handles.requests.increment()
        let (seconds, attoseconds) = elapsed.components
        handles.duration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// The methods the API answers keep their name; any other token a client sends is `other`.
    static func label(of method: HTTPRequest.Method) -> String {
        switch method {
        case .get: "GET"
        case .post: "POST"
        case .put: "PUT"
        case .patch: "PATCH"
        case .delete: "DELETE"
        case .head: "HEAD"
        case .options: "OPTIONS"
        default: "other"
        }
    }
}
