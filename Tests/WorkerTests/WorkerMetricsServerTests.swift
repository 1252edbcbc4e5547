import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import ServiceLifecycle
import Shared
import Testing

@testable import Worker

/// The worker's own `/metrics` (API.md: each worker serves its own on `WORKER_METRICS_PORT`).
@Suite("Worker /metrics server")
struct WorkerMetricsServerTests {
    @Test("serves its registry in Prometheus' text format, and stops at the group's graceful shutdown")
    func serves() async throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(name: "saas_redis_round_trips_total").increment(by: Int64(3))
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let server = WorkerMetricsServer(registry: registry, host: "127.0.0.1", port: 0, logger: Logger(label: "metrics-test")) { port in
            listening.yield(port)
        }
        let group = ServiceGroup(services: [server], logger: Logger(label: "metrics-test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            #expect(port > 0)

            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(10))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type") == "text/plain; version=0.0.4; charset=utf-8")
            let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
            #expect(body.contains("saas_redis_round_trips_total 3"), "\(body)")

            let other = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/jobs"), timeout: .seconds(10))
            #expect(other.status == .notFound)

            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("a port already taken is logged, not thrown: the worker goes on without /metrics")
    func portTaken() async throws {
        let registry = PrometheusCollectorRegistry()
        let logger = Logger(label: "metrics-test")
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let first = WorkerMetricsServer(registry: registry, host: "127.0.0.1", port: 0, logger: logger) { listening.yield($0) }
        let group = ServiceGroup(services: [first], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let second = WorkerMetricsServer(registry: registry, host: "127.0.0.1", port: port, logger: logger)
            try await second.run()  // returns: the bind failed and was logged
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("not served with WORKER_METRICS_PORT=0 or metrics off")
    func off() async throws {
        let registry = PrometheusCollectorRegistry()
        let logger = Logger(label: "metrics-test")
        var configuration = try await AppConfiguration.load(environmentFile: "/dev/null")
        configuration.workerMetricsPort = 0
        #expect(WorkerMetricsServer(configuration: configuration, registry: registry, logger: logger) == nil)
        configuration.workerMetricsPort = 9100
        configuration.workerMetricsHost = "0.0.0.0"
        #expect(WorkerMetricsServer(configuration: configuration, registry: nil, logger: logger) == nil)
        let server = try #require(WorkerMetricsServer(configuration: configuration, registry: registry, logger: logger))
        #expect(server.host == "0.0.0.0" && server.port == 9100)
    }
}
