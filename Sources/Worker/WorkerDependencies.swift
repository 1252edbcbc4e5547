import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Postgres
import Prometheus
import Redis
import Shared

/// What the worker's services share, built from the configuration: the clients of PostgreSQL,
/// Redis and the upstreams, the stores and the queue on them, the worker registry, the providers'
/// health and the job runner. The worker's counterpart of the API's `AppDependencies`;
/// ``WorkerServices`` turns it into services.
struct WorkerDependencies: Sendable {
    let configuration: AppConfiguration
    /// The process's metrics, bootstrapped before any client or component makes a handle; nil
    /// with `METRICS_ENABLED=false`. Served by ``WorkerMetricsServer``.
    let metrics: PrometheusCollectorRegistry?
    /// This process in the registry: host, pid and a random suffix.
    let workerID: String
    let postgres: PostgresClient
    let redis: RedisClient
    let http: UpstreamClients
    let jobs: any JobStore
    let queue: any JobQueue
    let registry: WorkerRegistry
    /// Where provider health is posted and cool-downs announced.
    let board: ProviderHealthBoard
    /// Circuits, cool-downs and budgets: the runner's, and the handler of the cool-downs other
    /// workers announce.
    let health: ProviderHealth
    let runner: JobRunner
    let sweeper: Sweeper
    /// Where streaming calls write their deltas (``CallStreamSink`` over it), for the API to relay.
    let callStreams: any CallStreams
    /// Sends the webhook outbox (woken by this worker's settlements).
    let webhookSender: WebhookSender

    init(configuration: AppConfiguration, logger: Logger) throws {
        self.configuration = configuration
        metrics = MetricsBootstrap.prometheus(configuration: configuration)
        let host = ProcessInfo.processInfo.hostName
        let pid = ProcessInfo.processInfo.processIdentifier
        workerID = "\(host)-\(pid)-\(UUID.random().uuidString.prefix(6).lowercased())"
        let postgres = PostgresClient(configuration: configuration.postgres, logger: logger)
        self.postgres = postgres
        let redis = RedisClient(configuration: try configuration.redis(), logger: logger)
        self.redis = redis

        // One connection per concurrent call: the default of 8 per host would queue the rest.
        // Past 512 connections they are split over several pools (``UpstreamClients``).
        let client = UpstreamClients(connections: Self.upstreamConnections(configuration)) { perPool in
            var http = HTTPClient.Configuration()
            http.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: perPool)
            http.connectionPool.retryConnectionEstablishment = false
            http.timeout = .init(connect: .seconds(10))
            // Never follow a redirect: a cross-origin hop would carry the provider's key, a 303
            // would turn the POST into a GET. A 3xx is an upstream error (HTTPExchange.classify).
            http.redirectConfiguration = .disallow
            return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: http)
        }
        self.http = client

        let jobs = PostgresJobStore(postgres: postgres)
        self.jobs = jobs
        let documents = PostgresDocumentStore(postgres: postgres)
        let queue: any JobQueue = RedisJobQueue(redis: redis)
        self.queue = queue
        let callStreams = RedisCallStreams(redis: redis)
        self.callStreams = callStreams
        let registry = WorkerRegistry(redis: redis, staleAfter: .milliseconds(Int64(configuration.heartbeatSeconds * 3000)))
        self.registry = registry
        let board = ProviderHealthBoard(redis: redis)
        self.board = board
        let health = ProviderHealth(
            board: board,
            audit: PostgresAuditStore(postgres: postgres),
            failureThreshold: configuration.circuitFailureThreshold,
            openFor: .milliseconds(Int64(configuration.circuitOpenSeconds * 1000)),
            logger: logger
        )
        self.health = health
        // One box for provider keys and webhook secrets (and one warning when its key is unset).
        let secrets = SecretBox(configuration: configuration, logger: logger)
        runner = JobRunner(
            upstreams: [.openai: OpenAIUpstream(clients: client), .anthropic: AnthropicUpstream(clients: client)],
            routing: Routing(
                modelGroups: PostgresModelGroupStore(postgres: postgres),
                providers: PostgresProviderStore(postgres: postgres),
                secrets: secrets
            ),
            health: health,
            steps: jobs,
            policy: .init(
                maxAttempts: configuration.maxAttempts,
                retryBase: .milliseconds(Int64(configuration.retryBaseSeconds * 1000)),
                retryCap: .milliseconds(Int64(configuration.retryCapSeconds * 1000)),
                defaultMaxTokens: configuration.defaultMaxTokens,
                defaultContextTokens: configuration.defaultContextTokens,
                documentConcurrency: configuration.documentConcurrency,
                documentLimits: configuration.documentLimits
            ),
            logger: logger,
            callStreams: callStreams,
            extraction: ExtractionStep(
                documents: documents,
                log: jobs,
                extractor: SubprocessExtractor(settings: configuration.extraction, logger: logger),
                estimator: ReservationEstimator(
                    defaultMaxTokens: configuration.defaultMaxTokens,
                    defaultContextTokens: configuration.defaultContextTokens,
                    documentLimits: configuration.documentLimits
                ),
                maxAttempts: configuration.maxAttempts,
                logger: logger
            )
        )
        let webhooks = configuration.webhookSender
        webhookSender = WebhookSender(
            store: PostgresWebhookDeliveryStore(postgres: postgres),
            transport: { WebhookHTTP(timeout: webhooks.timeout, concurrency: webhooks.concurrency) },
            secrets: secrets,
            schedule: DeliverySchedule(base: webhooks.retryBase, window: webhooks.retryWindow),
            settings: WebhookSender.Settings(configuration),
            logger: logger
        )
        sweeper = Sweeper(
            jobs: jobs,
            queue: queue,
            workers: registry,
            documents: documents,
            contents: jobs,
            webhookLog: PostgresWebhookStore(postgres: postgres),
            pauses: PostgresFleetPauseStore(postgres: postgres),
            interval: .milliseconds(Int64(configuration.sweepIntervalSeconds * 1000)),
            logger: logger
        )
    }

    /// The clients, as the service that closes them at the end.
    var clients: WorkerClients { WorkerClients(postgres: postgres, redis: redis, http: http) }

    /// Upstream connections the worker may hold at once: each in-flight call holds one, a chat job
    /// one call, a document job up to `DOCUMENT_CONCURRENCY`. Connections open only when needed;
    /// this is the ceiling.
    static func upstreamConnections(_ configuration: AppConfiguration) -> Int {
        min(8192, configuration.workerConcurrency * max(1, configuration.documentConcurrency))
    }
}
