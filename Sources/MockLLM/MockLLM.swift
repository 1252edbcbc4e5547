import ArgumentParser
import Hummingbird
import Logging
import ProcessLimits
import ServiceLifecycle
import Telemetry
import UnixSignals

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `saas-mock-llm`: the project's stand-in for an LLM provider.
///
/// No real provider is reachable where the tests and benchmarks run, so this process answers the
/// OpenAI (`/v1/chat/completions`) and Anthropic (`/v1/messages`) APIs with deterministic content and
/// realistic usage, and can be told, at start or while running, to add latency or to fail the way
/// providers fail (see `MockBehaviour`).
@main
struct MockLLM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saas-mock-llm",
        abstract: "A mock OpenAI/Anthropic upstream with adjustable latency and injectable failures.",
        discussion: "Change the behaviour while it runs with PUT /_mock/behaviour; read counters at GET /_mock/stats."
    )

    @Option(help: "Address to bind (default: HOST, else 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (default: PORT, else 8090).")
    var port: Int?

    @Option(help: "Milliseconds added to every call.")
    var latencyMs: Int?

    @Option(help: "Failure mode (default ok).")
    var mode: FailureMode?

    @Option(help: "Fraction of calls that get the failure mode, 0.0-1.0 (default 1.0).")
    var failureRate: Double?

    @Option(help: "When > 0, only the first N calls get the failure mode.")
    var failFirstN: Int?

    @Option(help: "Seconds a rate_limit answer asks the client to wait (default 1).")
    var retryAfterSeconds: Double?

    @Option(help: "Seconds the timeout mode holds a call (default 600).")
    var timeoutSeconds: Double?

    @Option(help: "Context length in tokens (default 1000000).")
    var contextLimit: Int?

    @Option(help: "Answer every call from the hostile catalogue, drawn with this seed (default: off).")
    var hostileSeed: UInt64?

    @Option(help: "Log level (default: LOG_LEVEL, else info). Requests are logged at debug.")
    var logLevel: String?

    /// The behaviour the flags describe, on top of the defaults.
    var behaviour: MockBehaviour {
        var behaviour = MockBehaviour()
        if let latencyMs { behaviour.latencyMs = latencyMs }
        if let mode { behaviour.mode = mode }
        if let failureRate { behaviour.failureRate = failureRate }
        if let failFirstN { behaviour.failFirstN = failFirstN }
        if let retryAfterSeconds { behaviour.retryAfterSeconds = retryAfterSeconds }
        if let timeoutSeconds { behaviour.timeoutSeconds = timeoutSeconds }
        if let contextLimit { behaviour.contextLimit = contextLimit }
        if let hostileSeed { behaviour.hostile = HostileSettings(seed: hostileSeed) }
        return behaviour
    }

    func validate() throws {
        if let problem = self.behaviour.problem {
            // name the flag, not the JSON field
            throw ValidationError(String(problem.map { $0 == "_" ? "-" : $0 }))
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let host = self.host ?? environment["HOST"] ?? "127.0.0.1"
        guard let port = self.port ?? Self.port(from: environment["PORT"]) else {
            throw ValidationError("PORT must be a port number")
        }
        let levelName = self.logLevel ?? environment["LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelName.lowercased()) else {
            throw ValidationError("log level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let formatName = environment["LOG_FORMAT"].flatMap { $0.isEmpty ? nil : $0 } ?? "text"
        guard let format = LogFormat(rawValue: formatName.lowercased()) else {
            throw ValidationError("LOG_FORMAT must be text or json")
        }
        // standard error at info, as before (the logger below sets its own level)
        LoggingSystem.bootstrap { label in format.handler(label: label, level: .info, stream: .standardError) }
        var logger = Logger(label: "saas-mock-llm")
        logger.logLevel = level

        let descriptors = FileDescriptorLimit.raise()
        let behaviour = self.behaviour
        logger.info(
            "saas-mock-llm starting",
            metadata: [
                "address": "\(host):\(port)", "behaviour": "\(behaviour.json)", "open_files_limit": "\(descriptors.map(String.init) ?? "unknown")",
            ]
        )
        let app = buildMockApplication(behaviour: behaviour, host: host, port: port, logger: logger)
        var configuration = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // calls held by `timeout` (or a long latency) would otherwise delay a shutdown for minutes
        configuration.maximumGracefulShutdownDuration = .seconds(5)
        try await ServiceGroup(configuration: configuration).run()
    }

    private static func port(from text: String?) -> Int? {
        guard let text else { return 8090 }
        guard let port = Int(text), (0...65_535).contains(port) else { return nil }
        return port
    }
}

extension FailureMode: ExpressibleByArgument {}
