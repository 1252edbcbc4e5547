import Hummingbird
import Logging
import Shared

/// The request context of every route.
typealias AppRequestContext = BasicRequestContext

/// What the application's routes share: the configuration and the clients of PostgreSQL and Redis.
struct AppDependencies: Sendable {
    let configuration: AppConfiguration
    let postgres: PostgresClient
    let redis: RedisClient

    init(configuration: AppConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.postgres = PostgresClient(configuration: configuration.postgres, logger: logger)
        self.redis = RedisClient(configuration: try configuration.redis(), logger: logger)
    }
}

/// Builds the API application from its configuration, the same way for `saas-api serve` and for
/// the tests (which run it in-process).
func buildApplication(_ dependencies: AppDependencies, logger: Logger) -> some ApplicationProtocol {
    let router = buildRouter(dependencies)
    var configuration = ApplicationConfiguration(
        address: .hostname(dependencies.configuration.host, port: dependencies.configuration.port),
        serverName: "saas-api"
    )
    configuration.serverName = "saas-api"
    return Application(
        router: router,
        configuration: configuration,
        services: [
            ShutdownHook { [dependencies] in
                dependencies.postgres.shutdown()
                dependencies.redis.shutdown()
            }
        ],
        logger: logger
    )
}

/// The routes and middleware, separate from the server so tests can drive them directly.
func buildRouter(_ dependencies: AppDependencies) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: LogRequestsMiddleware(.info))
    router.add(middleware: ErrorMiddleware())
    let routes = RouteTable(router: router)
    HealthController(postgres: dependencies.postgres, redis: dependencies.redis).addRoutes(to: routes)
    routes.addMethodNotAllowedAnswers(to: router)
    return router
}
