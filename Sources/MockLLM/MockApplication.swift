import Hummingbird
import Logging

/// Builds the mock's application: the same for `saas-mock-llm` and for the tests, which run it
/// in-process with `.router`.
///
/// - Parameters:
///   - behaviour: the behaviour at start, which `POST /_mock/reset` restores.
///   - host, port: where to listen (unused by `.router` tests).
func buildMockApplication(
    behaviour: MockBehaviour = MockBehaviour(),
    host: String = "127.0.0.1",
    port: Int = 8090,
    logger: Logger? = nil
) -> some ApplicationProtocol {
    let logger =
        logger
        ?? {
            var logger = Logger(label: "saas-mock-llm")
            logger.logLevel = .warning
            return logger
        }()
    let router = buildMockRouter(state: MockState(behaviour: behaviour))
    let configuration = ApplicationConfiguration(
        address: .hostname(host, port: port),
        serverName: "saas-mock-llm",
        // a benchmark opens 1,000 connections at once: the default backlog of 256 would drop SYNs,
        // and a dropped SYN costs the client a second (the kernel caps this at somaxconn)
        backlog: 4096
    )
    return Application(router: router, configuration: configuration, logger: logger)
}

/// The routes and middleware.
func buildMockRouter(state: MockState) -> Router<MockRequestContext> {
    let router = Router(context: MockRequestContext.self)
    // middleware applies to the routes added after it (and to unknown paths)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: StatsMiddleware(stats: state.stats))
    OpenAIRoutes(state: state).add(to: router)
    AnthropicRoutes(state: state).add(to: router)
    ControlRoutes(state: state).add(to: router)
    return router
}
