import Foundation
import Logging
@testable import Shared

/// Where the tests find the project's own Redis and PostgreSQL (started by scripts/services.sh).
/// The test databases are separate from the development ones: PostgreSQL `saas_test`, Redis db 1.
enum TestEnvironment {
    static var databaseURL: String {
        ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] ?? "postgresql://saas:saas@127.0.0.1:5433/saas_test"
    }

    static var redisURL: String {
        ProcessInfo.processInfo.environment["TEST_REDIS_URL"] ?? "redis://127.0.0.1:6381/1"
    }

    static func redisConfiguration(poolSize: Int = 2, commandTimeout: Double = 5) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: redisURL)
        configuration.poolSize = poolSize
        configuration.commandTimeout = commandTimeout
        return configuration
    }

    static func redis(poolSize: Int = 2, commandTimeout: Double = 5) throws -> RedisClient {
        RedisClient(configuration: try redisConfiguration(poolSize: poolSize, commandTimeout: commandTimeout))
    }

    static func postgres(poolSize: Int = 4) -> PostgresClient {
        PostgresClient(configuration: PostgresConfiguration(url: databaseURL, poolSize: poolSize, applicationName: "saas-tests"))
    }

    /// A key prefix unique to one test, so parallel tests never share keys.
    static func uniqueKey(_ name: String = #function) -> String {
        "test:\(name.prefix(20)):\(UUID().uuidString.prefix(8))"
    }
}
