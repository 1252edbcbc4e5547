import Foundation
import Hummingbird
import Logging
import Postgres
import Redis
import Shared

/// `/health` says the process is up; `/ready` says it can do its work: PostgreSQL and Redis both
/// answer (a load balancer takes the instance out of rotation while they do not).
///
/// `/ready` is open to anyone, so its answer names which store is down and nothing else: a
/// connection error's text holds hosts, ports, user and database names (libpq's does). The full
/// error goes to the log.
struct HealthController<Context: RequestContext>: Sendable {
    let postgres: PostgresClient
    let redis: RedisClient

    struct Status: ResponseEncodable {
        var status: String
        var postgres: String?
        var redis: String?
        var detail: String?
    }

    func addRoutes(to routes: RouteTable<Context>) {
        routes.get("/health") { _, _ in Status(status: "ok") }
        routes.get("/ready", use: ready)
    }

    @Sendable func ready(_ request: Request, context: Context) async throws -> Response {
        async let database = Self.check { try await postgres.query("SELECT 1") }
        async let cache = Self.check { try await redis.send("PING") }
        let (postgresProblem, redisProblem) = await (database, cache)
        for (store, problem) in [("postgres", postgresProblem), ("redis", redisProblem)] {
            if let problem { context.logger.warning("not ready", metadata: ["store": "\(store)", "problem": "\(problem)"]) }
        }
        var status = Status(
            status: "ready",
            postgres: postgresProblem == nil ? "ok" : "unavailable",
            redis: redisProblem == nil ? "ok" : "unavailable"
        )
        guard postgresProblem == nil && redisProblem == nil else {
            status.status = "unavailable"
            status.detail = [
                postgresProblem.map { _ in ReadinessDetail.postgresUnreachable }, redisProblem.map { _ in ReadinessDetail.redisUnreachable },
            ]
            .compactMap { $0 }.joined(separator: "; ")
            return try status.response(from: request, context: context).with(status: .serviceUnavailable)
        }
        return try status.response(from: request, context: context)
    }

    /// Runs a probe with a 2 s bound; returns the problem, or nil when it answered.
    private static func check(_ probe: @escaping @Sendable () async throws -> some Sendable) async -> String? {
        switch await raceDeadline(seconds: 2, probe) {
        case .finished(.success): return nil
        case .finished(.failure(let error)): return "\(error)"
        case .timedOut: return "no answer within 2 s"
        }
    }
}

extension Response {
    func with(status: HTTPResponse.Status) -> Response {
        var copy = self
        copy.status = status
        return copy
    }
}
