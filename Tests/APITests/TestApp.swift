import Configuration
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOFoundationCompat
import Postgres
import Shared

@testable import API

/// Builds the API in-process, the same way `saas-api serve` does, against the test databases.
enum TestApp {
    static var databaseURL: String {
        ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] ?? "postgresql://saas:saas@127.0.0.1:5433/saas_test"
    }

    static var redisURL: String {
        ProcessInfo.processInfo.environment["TEST_REDIS_URL"] ?? "redis://127.0.0.1:6381/1"
    }

    static func configuration(_ overrides: [String: String] = [:]) throws -> AppConfiguration {
        // A small pool: every test builds its own app and the suites run in parallel against one
        // PostgreSQL, whose connection slots they share (a test that needs more says so).
        var variables = [
            "ENVIRONMENT": "test", "DATABASE_URL": databaseURL, "REDIS_URL": redisURL, "LOG_LEVEL": "warning",
            "DATABASE_POOL_SIZE": "4",
        ]
        variables.merge(overrides) { $1 }
        return try AppConfiguration(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: variables)))
    }

    /// Runs `body` against the application's router, then closes its connections.
    /// `jobStore` replaces the job store (a store that fails on purpose, behind the real routes).
    static func test<T: Sendable>(
        _ overrides: [String: String] = [:],
        jobStore: (@Sendable (PostgresClient) -> any JobStore)? = nil,
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "api-tests")
        logger.logLevel = .warning
        let dependencies = try AppDependencies(configuration: try configuration(overrides), logger: logger, jobStore: jobStore)
        if overrides["DATABASE_URL"] == nil {
            try await Migrator(client: dependencies.postgres, logger: logger).migrate()
        }
        let app = buildApplication(dependencies, logger: logger)
        return try await app.test(.router) { client in try await body(client) }
    }

    /// As ``test(_:_:)``, served over real HTTP on a free loopback port (HummingbirdTesting's
    /// `.live`): what a client on the network meets, connection handling included. `client.port`
    /// is the port.
    static func testLive<T: Sendable>(
        _ overrides: [String: String] = [:],
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "api-tests")
        logger.logLevel = .warning
        var configuration = try configuration(overrides)
        configuration.host = "127.0.0.1"
        configuration.port = 0
        let dependencies = try AppDependencies(configuration: configuration, logger: logger)
        if overrides["DATABASE_URL"] == nil {
            try await Migrator(client: dependencies.postgres, logger: logger).migrate()
        }
        let app = buildApplication(dependencies, logger: logger)
        return try await app.test(.live) { client in try await body(client) }
    }
}

extension TestResponse {
    /// The `detail` of a JSON error body.
    var detail: String? {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])?["detail"] as? String
    }

    var json: [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
    }
}
