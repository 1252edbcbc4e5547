import ArgumentParser
import Foundation
import Logging
import Postgres
import Redis

/// `saas-api openapi`: prints the OpenAPI document the API serves at `/openapi.json`, built the
/// same way (the routes of `buildRouter`, the catalogue), without serving or touching a database.
/// `scripts/check-openapi.sh` validates its output. Exits 1 when a registered route has no
/// catalogue entry.
struct PrintOpenAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openapi",
        abstract: "Print the OpenAPI 3.1 document (GET /openapi.json) and exit."
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let configuration = try await loadConfiguration(envFile: common.envFile, overrides: ["LOG_LEVEL": "error"])
        var logger = Logger(label: "saas-api")
        logger.logLevel = .error
        let dependencies = try AppDependencies(configuration: configuration, logger: logger)
        defer {
            dependencies.postgres.shutdown()
            dependencies.redis.shutdown()
        }
        let registry = MethodRegistry()
        _ = buildRouter(dependencies, routes: registry)
        let outcome = OpenAPIDocumentBuilder().build(routes: registry.snapshot())
        FileHandle.standardOutput.write(try OpenAPIDocumentBuilder.encode(outcome.document))
        FileHandle.standardOutput.write(Data("\n".utf8))
        if !outcome.undocumented.isEmpty {
            FileHandle.standardError.write(Data("routes missing from the catalogue: \(outcome.undocumented.map(\.description))\n".utf8))
            throw ExitCode(1)
        }
    }
}
