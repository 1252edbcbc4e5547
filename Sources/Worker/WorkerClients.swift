import AsyncHTTPClient
import Postgres
import Redis
import ServiceLifecycle
import Shared

/// The worker's clients of PostgreSQL, Redis and the upstreams, as a service: it does nothing
/// until graceful shutdown, then closes them. It is the first of the worker's services
/// (``WorkerServices``), so it is shut down last, once nothing uses the clients any more.
struct WorkerClients: Service {
    let postgres: PostgresClient
    let redis: RedisClient
    let http: UpstreamClients

    func run() async {
        try? await gracefulShutdown()
        await close()
    }

    func close() async {
        try? await http.shutdown()
        postgres.shutdown()
        redis.shutdown()
    }
}
