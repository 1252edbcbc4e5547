import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import Shared

/// The worker's own `GET /metrics` on `WORKER_METRICS_HOST`:`WORKER_METRICS_PORT` (API.md: each
/// worker serves its own): a small Hummingbird server with that one route, run as a service of
/// the worker's group so it answers through the shutdown grace period and stops with the rest.
///
/// Not served when the port is 0 or metrics are off (`METRICS_ENABLED=false`). The host is
/// loopback by default; in a cluster it is `0.0.0.0` so the scraper reaches the pod (README).
/// Like the API's, the route asks no key: it is meant for the cluster network only.
///
/// Metrics never stop the work: when the address cannot be bound (another worker on this
/// machine holds the port, say) the error is logged and `run()` returns; the worker's group
/// ignores that (``WorkerServices``) and goes on without `/metrics`.
struct WorkerMetricsServer: Service {
    let registry: PrometheusCollectorRegistry
    let host: String
    let port: Int
    let logger: Logger
    /// Called with the bound port once listening (a test binds port 0 and reads it here).
    var onListening: @Sendable (Int) async -> Void = { _ in }

    /// The server a configuration asks for; nil when it asks for none.
    init?(configuration: AppConfiguration, registry: PrometheusCollectorRegistry?, logger: Logger) {
        guard let registry, configuration.workerMetricsPort != 0 else { return nil }
        self.init(registry: registry, host: configuration.workerMetricsHost, port: configuration.workerMetricsPort, logger: logger)
    }

    init(
        registry: PrometheusCollectorRegistry,
        host: String,
        port: Int,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.registry = registry
        self.host = host
        self.port = port
        self.logger = logger
        self.onListening = onListening
    }

    func run() async throws {
        let router = Router()
        router.get("/metrics") { [registry] _, _ in
            Response(
                status: .ok,
                headers: [.contentType: MetricsExposition.contentType],
                body: .init(byteBuffer: ByteBuffer(bytes: MetricsExposition.body(of: registry)))
            )
        }
        let onListening = self.onListening
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "saas-worker-metrics"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        // The application is itself a service: it stops at the group's graceful shutdown.
        do {
            try await app.run()
        } catch  where !Task.isCancelled {
            logger.error(
                "could not serve /metrics; the worker goes on without it",
                metadata: ["address": "\(host):\(port)", "error": "\(error)"]
            )
        }
    }
}
