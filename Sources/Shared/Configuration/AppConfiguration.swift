public import Configuration
import Foundation
public import Logging
public import Postgres
public import Redis
import SystemPackage
public import Telemetry

/// Everything both processes read from the environment (and an optional `.env` file), with
/// local-development defaults. A bad value stops the process with a message naming the variable.
public struct AppConfiguration: Sendable {
    public enum Environment: String, Sendable {
        case development, test, production
    }

    /// The admin key local development may use. Refused in production.
    public static let developmentMasterKey = "sk-admin-local-dev-change-in-production"

    public var environment: Environment
    public var databaseURL: String
    public var redisURL: String
    public var masterKey: String
    /// Base64 of 32 bytes: the AES-GCM key that encrypts provider API keys at rest.
    public var providerKeySecret: String?
    public var host: String
    public var port: Int
    public var logLevel: Logger.Level
    /// `LOG_FORMAT`: `text` (default) or `json`, one object per line for log shippers.
    public var logFormat: LogFormat
    /// `METRICS_ENABLED` (default true): false bootstraps no metrics backend, and `/metrics`
    /// answers 404.
    public var metricsEnabled: Bool
    /// `METRICS_MAX_TEAMS`: distinct `team` label values a process keeps; the rest are `other`.
    public var metricsMaxTeams: Int
    /// `ACCESS_LOG_SAMPLE`: one successful answer in this many is logged at `info` (every
    /// refused, failed or slow one is); 0 logs successes only at `debug`.
    public var accessLogSample: Int
    public var databasePoolSize: Int
    /// Callers that may wait for a PostgreSQL connection at once, and how long each may wait;
    /// past either the caller is refused (the API answers 503 with `Retry-After`).
    public var databaseMaxWaiters: Int
    public var databaseAcquireTimeoutSeconds: Double
    /// API: submits waiting for their batch's transaction; past it a submit is a 503.
    public var submitQueueMax: Int
    /// API: batches (`POST /api/jobs/batch`) handled at once by one process, each up to 16 MiB
    /// and its copies; past it a batch is a 503 before its body is read.
    public var batchConcurrency: Int
    /// API: long polls (`GET /api/jobs/{id}?wait=`) waiting at once, per process and per team;
    /// past either a 429.
    public var longPollsMax: Int
    public var longPollsPerTeam: Int
    /// API: open SSE streams (call streams and job events), per team and per process; past
    /// either a 429. Each holds a socket and a task for as long as its client stays.
    public var streamsPerTeam: Int
    public var streamsMax: Int
    /// API: seconds between the `: keep-alive` comments of an idle SSE stream.
    public var streamKeepAliveSeconds: Double
    /// API: an HTTP connection with no request in flight and nothing read for this long is closed.
    public var httpIdleTimeoutSeconds: Double
    /// API: a dashboard session ends after this long without a request (idle), and after
    /// `dashboardSessionMaxSeconds` whatever its activity (absolute); both in seconds.
    public var dashboardSessionIdleSeconds: Int
    public var dashboardSessionMaxSeconds: Int
    public var redisPoolSize: Int
    /// Jobs one worker process runs at once.
    public var workerConcurrency: Int
    /// How long a claimed job stays leased to its worker without a renewal.
    public var leaseSeconds: Double
    /// How often the sweeper reconciles PostgreSQL's live jobs with Redis.
    public var sweepIntervalSeconds: Double
    /// How often a worker announces itself.
    public var heartbeatSeconds: Double
    /// Where the worker serves its own `/metrics` (port 0: not served). The host defaults to
    /// loopback; in a cluster it is `0.0.0.0`, for the Prometheus scraper.
    public var workerMetricsPort: Int
    public var workerMetricsHost: String
    /// How long a stopping worker lets in-flight calls finish before handing the rest back.
    public var shutdownGraceSeconds: Double
    /// Deliveries that reach the upstream before a job fails (transient errors).
    public var maxAttempts: Int
    /// Exponential backoff with full jitter: base and cap, in seconds.
    public var retryBaseSeconds: Double
    public var retryCapSeconds: Double
    /// `max_tokens` assumed for a reservation (and sent upstream) when a job names none.
    public var defaultMaxTokens: Int
    /// The context budget of a model entry without `context_tokens`.
    public var defaultContextTokens: Int
    /// Chunk calls of one document run at once.
    public var documentConcurrency: Int
    /// The least prompt room a chunk may have and the most calls a document may plan; a
    /// submit past either is a 422, and a model whose plan is past them is not used for the job.
    public var documentLimits: DocumentLimits
    /// API: the largest file a multipart submit may upload (`MAX_DOCUMENT_BYTES`, 50 MiB).
    public var maxDocumentBytes: Int
    /// Consecutive failures that open a provider's circuit, and how long it stays open.
    public var circuitFailureThreshold: Int
    public var circuitOpenSeconds: Double
    /// Worker: the text extractors of uploaded documents and the limits of each run.
    public var extraction: ExtractionSettings
    /// Worker: how webhook deliveries are sent and retried.
    public var webhookSender: WebhookSenderSettings

    public var postgres: PostgresConfiguration {
        PostgresConfiguration(
            url: databaseURL,
            poolSize: databasePoolSize,
            maxWaiters: databaseMaxWaiters,
            acquireTimeout: databaseAcquireTimeoutSeconds
        )
    }

    public func redis() throws(ConfigurationError) -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: redisURL)
        configuration.poolSize = redisPoolSize
        return configuration
    }

    /// Reads the process environment, then `.env` in the working directory (or `envFile`) for
    /// what the environment does not set. `/dev/null` (or any file that is not a regular one)
    /// is read for what it holds: `--env-file /dev/null` means no file.
    public static func load(environmentFile: String = ".env", overrides: [String: String] = [:]) async throws -> AppConfiguration {
        var providers: [any ConfigProvider] = []
        if !overrides.isEmpty { providers.append(EnvironmentVariablesProvider(environmentVariables: overrides)) }
        providers.append(EnvironmentVariablesProvider())
        let file = try EnvironmentFile.readablePath(environmentFile)
        defer { file.cleanup() }
        providers.append(try await EnvironmentVariablesProvider(environmentFilePath: file.path, allowMissing: true))
        return try AppConfiguration(reader: ConfigReader(providers: providers))
    }

    public init(reader: ConfigReader) throws(ConfigurationError) {
        let values = Values(reader: reader)
        let environmentName = values.string("ENVIRONMENT", default: "development").lowercased()
        guard let environment = Environment(rawValue: environmentName) else {
            throw .invalid(variable: "ENVIRONMENT", reason: "must be development, test or production, not '\(environmentName)'")
        }
        self.environment = environment
        databaseURL = values.string("DATABASE_URL", default: "postgresql://saas:saas@127.0.0.1:5433/saas")
        redisURL = values.string("REDIS_URL", default: "redis://127.0.0.1:6381/0")
        providerKeySecret = values.optionalString("PROVIDER_KEY_SECRET")
        host = values.string("HOST", default: "127.0.0.1")
        port = try values.int("PORT", default: 8003, range: 1...65535)
        let level = values.string("LOG_LEVEL", default: "info").lowercased()
        guard let logLevel = Logger.Level(rawValue: level) else {
            throw .invalid(variable: "LOG_LEVEL", reason: "must be one of trace, debug, info, notice, warning, error, critical")
        }
        self.logLevel = logLevel
        let format = values.string("LOG_FORMAT", default: "text").lowercased()
        guard let logFormat = LogFormat(rawValue: format) else {
            throw .invalid(variable: "LOG_FORMAT", reason: "must be text or json, not '\(format)'")
        }
        self.logFormat = logFormat
        metricsEnabled = try values.bool("METRICS_ENABLED", default: true)
        metricsMaxTeams = try values.int("METRICS_MAX_TEAMS", default: 1000, range: 1...1_000_000)
        accessLogSample = try values.int("ACCESS_LOG_SAMPLE", default: 100, range: 0...1_000_000)
        databasePoolSize = try values.int("DATABASE_POOL_SIZE", default: 16, range: 1...500)
        redisPoolSize = try values.int("REDIS_POOL_SIZE", default: 4, range: 1...256)
        databaseMaxWaiters = try values.int("DATABASE_MAX_WAITERS", default: 10_000, range: 1...1_000_000)
        databaseAcquireTimeoutSeconds = try values.double("DATABASE_ACQUIRE_TIMEOUT_SECONDS", default: 10, range: 0.001...3600)
        submitQueueMax = try values.int("SUBMIT_QUEUE_MAX", default: 10_000, range: 1...1_000_000)
        batchConcurrency = try values.int("BATCH_CONCURRENCY", default: 2, range: 1...1_000)
        longPollsMax = try values.int("LONG_POLLS_MAX", default: 10_000, range: 1...1_000_000)
        longPollsPerTeam = try values.int("LONG_POLLS_PER_TEAM", default: 1_000, range: 1...1_000_000)
        streamsPerTeam = try values.int("STREAMS_PER_TEAM", default: 100, range: 1...1_000_000)
        streamsMax = try values.int("STREAMS_MAX", default: 10_000, range: 1...1_000_000)
        streamKeepAliveSeconds = try values.double("STREAM_KEEPALIVE_SECONDS", default: 15, range: 0.05...3600)
        httpIdleTimeoutSeconds = try values.double("HTTP_IDLE_TIMEOUT_SECONDS", default: 60, range: 0.1...86_400)
        dashboardSessionIdleSeconds = try values.int("DASHBOARD_SESSION_IDLE_SECONDS", default: 3600, range: 1...604_800)
        dashboardSessionMaxSeconds = try values.int("DASHBOARD_SESSION_MAX_SECONDS", default: 28_800, range: 1...2_592_000)
        workerConcurrency = try values.int("WORKER_CONCURRENCY", default: 64, range: ConcurrencyRequest.range)
        leaseSeconds = try values.double("LEASE_SECONDS", default: 30, range: 0.5...3600)
        sweepIntervalSeconds = try values.double("SWEEP_INTERVAL_SECONDS", default: 10, range: 0.1...3600)
        heartbeatSeconds = try values.double("HEARTBEAT_SECONDS", default: 5, range: 0.1...3600)
        workerMetricsPort = try values.int("WORKER_METRICS_PORT", default: 9003, range: 0...65535)
        workerMetricsHost = values.string("WORKER_METRICS_HOST", default: "127.0.0.1")
        shutdownGraceSeconds = try values.double("WORKER_SHUTDOWN_GRACE_SECONDS", default: 20, range: 0...3600)
        maxAttempts = try values.int("MAX_ATTEMPTS", default: 5, range: 1...100)
        retryBaseSeconds = try values.double("RETRY_BASE_SECONDS", default: 1, range: 0.001...3600)
        retryCapSeconds = try values.double("RETRY_CAP_SECONDS", default: 60, range: 0.001...86_400)
        defaultMaxTokens = try values.int("DEFAULT_MAX_TOKENS", default: 1024, range: 1...1_000_000)
        defaultContextTokens = try values.int("DEFAULT_CONTEXT_TOKENS", default: 8192, range: 256...10_000_000)
        documentConcurrency = try values.int("DOCUMENT_CONCURRENCY", default: 8, range: 1...256)
        documentLimits = DocumentLimits(
            minimumChunkTokens: try values.int("DOCUMENT_MIN_CHUNK_TOKENS", default: 1000, range: 1...1_000_000),
            maxCalls: try values.int("DOCUMENT_MAX_CALLS", default: 1000, range: 1...100_000)
        )
        maxDocumentBytes = try values.int("MAX_DOCUMENT_BYTES", default: 50 << 20, range: 1...(1 << 30))
        circuitFailureThreshold = try values.int("CIRCUIT_FAILURE_THRESHOLD", default: 5, range: 1...1000)
        circuitOpenSeconds = try values.double("CIRCUIT_OPEN_SECONDS", default: 30, range: 0.1...3600)
        extraction = ExtractionSettings(
            pdftotextPath: values.string("PDFTOTEXT_PATH", default: "pdftotext"),
            pandocPath: values.string("PANDOC_PATH", default: "pandoc"),
            timeout: .milliseconds(Int64(try values.double("EXTRACTION_TIMEOUT_SECONDS", default: 60, range: 0.1...3600) * 1000)),
            memoryLimitBytes: try values.int("EXTRACTION_MEMORY_MB", default: 1024, range: 64...1_048_576) << 20,
            maxTextBytes: try values.int("MAX_EXTRACTED_TEXT_BYTES", default: 32 << 20, range: 1024...(1 << 30)),
            maxPages: try values.int("MAX_DOCUMENT_PAGES", default: 10_000, range: 1...1_000_000)
        )
        webhookSender = WebhookSenderSettings(
            concurrency: try values.int("WEBHOOK_CONCURRENCY", default: 32, range: 1...4096),
            timeout: .milliseconds(Int64(try values.double("WEBHOOK_TIMEOUT_SECONDS", default: 10, range: 0.1...300) * 1000)),
            retryBase: .milliseconds(try values.int("WEBHOOK_RETRY_BASE_MS", default: 5000, range: 1...3_600_000)),
            retryWindow: .seconds(try values.int("WEBHOOK_RETRY_WINDOW_SECONDS", default: 86_400, range: 1...2_592_000)),
            pollInterval: .milliseconds(try values.int("WEBHOOK_POLL_MS", default: 1000, range: 10...600_000))
        )

        let masterKey = values.optionalString("MASTER_KEY")
        if environment == .production {
            guard let masterKey else { throw .missing(variable: "MASTER_KEY") }
            guard masterKey != Self.developmentMasterKey else {
                throw .invalid(variable: "MASTER_KEY", reason: "is the local development default; set a secret key in production")
            }
            guard masterKey.count >= 32 else {
                throw .invalid(variable: "MASTER_KEY", reason: "must be at least 32 characters in production")
            }
            guard providerKeySecret != nil else { throw .missing(variable: "PROVIDER_KEY_SECRET") }
        }
        self.masterKey = masterKey ?? Self.developmentMasterKey
        if let secret = providerKeySecret {
            guard let bytes = Data(base64Encoded: secret), bytes.count == 32 else {
                throw .invalid(variable: "PROVIDER_KEY_SECRET", reason: "must be the base64 of 32 random bytes (openssl rand -base64 32)")
            }
        }
    }
}

/// Reads variables by their environment names, and turns unusable values into errors that name
/// the variable (swift-configuration's own defaults would silently fall back instead).
private struct Values {
    let reader: ConfigReader

    private func key(_ variable: String) -> ConfigKey {
        // DATABASE_URL ↔ database.url: the environment provider maps keys to upper snake case.
        ConfigKey(variable.lowercased().split(separator: "_").map(String.init))
    }

    func optionalString(_ variable: String) -> String? {
        guard let value = reader.string(forKey: key(variable), isSecret: variable.contains("KEY") || variable.contains("SECRET")),
            !value.isEmpty
        else { return nil }
        return value
    }

    func string(_ variable: String, default value: String) -> String {
        optionalString(variable) ?? value
    }

    func int(_ variable: String, default value: Int, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let text = optionalString(variable) else { return value }
        guard let number = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            throw .invalid(variable: variable, reason: "must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return number
    }

    func bool(_ variable: String, default value: Bool) throws(ConfigurationError) -> Bool {
        guard let text = optionalString(variable) else { return value }
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw .invalid(variable: variable, reason: "must be true or false, not '\(text)'")
        }
    }

    func double(_ variable: String, default value: Double, range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
        guard let text = optionalString(variable) else { return value }
        guard let number = Double(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            throw .invalid(variable: variable, reason: "must be a number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return number
    }
}
