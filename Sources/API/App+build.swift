import Hummingbird
import Logging
import NIOCore
import Postgres
import Prometheus
import Redis
import Shared

/// What the application's routes share: the configuration, the clients of PostgreSQL and Redis,
/// and the stores built on them.
struct AppDependencies: Sendable {
    let configuration: AppConfiguration
    /// The process's metrics (`/metrics`), bootstrapped before anything records; nil with
    /// `METRICS_ENABLED=false`.
    let metrics: PrometheusCollectorRegistry?
    let jobsSubmitted: JobsSubmittedCounter
    let postgres: PostgresClient
    let redis: RedisClient
    let organizations: any OrganizationStore
    let teams: any TeamStore
    let modelGroups: any ModelGroupStore
    let providers: any ProviderStore
    let credits: any CreditStore
    let audit: any AuditStore
    let usage: any UsageStore
    let jobs: any JobStore
    /// The step-by-step flow's store (the same PostgreSQL job store).
    let steps: any StepJobStore
    /// Extracted texts and erasing (the same PostgreSQL job store), and uploaded documents' bytes.
    let contents: any JobContentStore
    let documents: any DocumentStore
    let queue: any JobQueue
    let registry: WorkerRegistry
    /// The fleet-wide pause as PostgreSQL records it.
    let pauses: any FleetPauseStore
    let secrets: SecretBox
    let keyCache: KeyCache
    let failedAuth: FailedAuthRecorder
    let modelAccess: ModelAccessCache
    /// Per-team limits: the store, this process's cache of them, and the submit routes' check.
    let teamLimits: any TeamLimitsStore
    let teamLimitsCache: TeamLimitsCache
    let submitLimiter: SubmitLimiter
    let submissions: SubmissionPipeline
    let completions: CompletionWaiters
    /// The HTTP connections whose clients left, for the long polls that watch them.
    let departures = ClientDepartures()
    /// Streaming calls' deltas (written by workers) and the one relay that wakes this process's
    /// open streams (see `Streaming/`).
    let callStreams: any CallStreams
    let streamRelay: StreamRelay
    let sweeper: Sweeper

    /// `jobStore`, when given, builds the job store on the pool instead of ``PostgresJobStore``:
    /// how tests put a store that fails on purpose behind the real routes.
    init(configuration: AppConfiguration, logger: Logger, jobStore: (@Sendable (PostgresClient) -> any JobStore)? = nil) throws {
        self.configuration = configuration
        metrics = MetricsBootstrap.prometheus(configuration: configuration)
        let jobsSubmitted = JobsSubmittedCounter()
        self.jobsSubmitted = jobsSubmitted
        let postgres = PostgresClient(configuration: configuration.postgres, logger: logger)
        self.postgres = postgres
        let redis = RedisClient(configuration: try configuration.redis(), logger: logger)
        self.redis = redis
        organizations = PostgresOrganizationStore(postgres: postgres)
        teams = PostgresTeamStore(postgres: postgres)
        modelGroups = PostgresModelGroupStore(postgres: postgres)
        providers = PostgresProviderStore(postgres: postgres)
        credits = PostgresCreditStore(postgres: postgres)
        audit = PostgresAuditStore(postgres: postgres)
        usage = PostgresUsageStore(postgres: postgres)
        let jobs = jobStore?(postgres) ?? PostgresJobStore(postgres: postgres)
        self.jobs = jobs
        steps = PostgresJobStore(postgres: postgres)
        contents = PostgresJobStore(postgres: postgres)
        let documents = PostgresDocumentStore(postgres: postgres)
        self.documents = documents
        let queue: any JobQueue = RedisJobQueue(redis: redis)
        self.queue = queue
        registry = WorkerRegistry(redis: redis, staleAfter: .milliseconds(Int64(configuration.heartbeatSeconds * 3000)))
        let pauses = PostgresFleetPauseStore(postgres: postgres)
        self.pauses = pauses
        secrets = SecretBox(configuration: configuration, logger: logger)
        keyCache = KeyCache()
        failedAuth = FailedAuthRecorder(audit: audit, logger: logger)
        modelAccess = ModelAccessCache(teams: teams, modelGroups: modelGroups)
        let teamLimits = PostgresTeamLimitsStore(postgres: postgres)
        self.teamLimits = teamLimits
        let teamLimitsCache = TeamLimitsCache(store: teamLimits)
        self.teamLimitsCache = teamLimitsCache
        submitLimiter = SubmitLimiter(limits: teamLimitsCache, redis: redis, keys: QueueKeys())
        submissions = SubmissionPipeline(jobs: jobs, queue: queue, maxPending: configuration.submitQueueMax, submitted: jobsSubmitted, logger: logger)
        let callStreams = RedisCallStreams(redis: redis)
        self.callStreams = callStreams
        let streamRelay = StreamRelay(
            streams: callStreams,
            limits: .init(perProcess: configuration.streamsMax, perTeam: configuration.streamsPerTeam)
        )
        self.streamRelay = streamRelay
        completions = CompletionWaiters(
            queue: queue,
            limits: .init(perProcess: configuration.longPollsMax, perTeam: configuration.longPollsPerTeam),
            departures: departures,
            alsoTell: { streamRelay.jobEnded($0) }
        )
        sweeper = Sweeper(
            jobs: jobs,
            queue: queue,
            workers: registry,
            documents: documents,
            contents: contents,
            webhookLog: PostgresWebhookStore(postgres: postgres),
            pauses: pauses,
            interval: .milliseconds(Int64(configuration.sweepIntervalSeconds * 1000)),
            logger: logger
        )
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
    // A connection that sends nothing and waits for nothing is closed (slow or abandoned clients
    // would otherwise hold their sockets for ever); a request in flight — a long poll — is not idle.
    let idleTimeout = TimeAmount.nanoseconds(Int64(dependencies.configuration.httpIdleTimeoutSeconds * 1_000_000_000))
    return Application(
        router: router,
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [ClientDepartureHandler(departures: dependencies.departures)],
                idleTimeout: idleTimeout
            )
        ),
        configuration: configuration,
        services: [
            ShutdownHook { [dependencies] in
                dependencies.postgres.shutdown()
                dependencies.redis.shutdown()
            },
            dependencies.failedAuth,
            dependencies.completions,
            dependencies.streamRelay,
            dependencies.sweeper,
        ],
        logger: logger
    )
}

/// The routes and middleware, separate from the server so tests can drive them directly.
/// `routes`, when given, receives every path and its methods (the tests that cover every route
/// take them from there, so a new route is covered without being listed).
func buildRouter(_ dependencies: AppDependencies, routes registry: MethodRegistry = MethodRegistry()) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    // Outermost, so it sees every answer's final status; none at all with metrics off.
    if dependencies.metrics != nil { router.add(middleware: HTTPMetricsMiddleware()) }
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: AccessLogMiddleware(sample: dependencies.configuration.accessLogSample))
    router.add(middleware: ErrorMiddleware())
    let routes = RouteTable(router: router, registry: registry)
    HealthController(postgres: dependencies.postgres, redis: dependencies.redis).addRoutes(to: routes)
    MetricsController(registry: dependencies.metrics).addRoutes(to: routes)
    // `/openapi.json` and `/docs`; the document is built from the route table once every route is in.
    let openAPI = OpenAPIController()
    openAPI.addRoutes(to: routes)

    // hummingbird-auth's chain: each authenticator identifies the caller by the credential it
    // knows or leaves the request to the next, `IdentityRequired` refuses what none identified
    // (401), and `ActiveTeamPolicy` a suspended team (403).
    let failures = dependencies.failedAuth
    let adminKey = AdminAuthenticator(masterKey: dependencies.configuration.masterKey, failures: failures)
    let teamKey = TeamAuthenticator(teams: dependencies.teams, cache: dependencies.keyCache, failures: failures)
    let admin = routes.group("/api").addMiddleware {
        adminKey
        IdentityRequired(.adminKey, failures: failures)
        AuditMiddleware(audit: dependencies.audit)
    }
    let team = routes.group("/api").addMiddleware {
        teamKey
        IdentityRequired(.teamKey, failures: failures)
        ActiveTeamPolicy.middleware
    }
    // A team's own balance, ledger and usage, which the admin key opens too.
    let teamOrAdmin = routes.group("/api").addMiddleware {
        adminKey
        teamKey
        IdentityRequired(.teamKey, failures: failures)
        ActiveTeamPolicy.middleware
    }

    OrganizationController(organizations: dependencies.organizations, teams: dependencies.teams, usage: dependencies.usage)
        .addRoutes(to: admin)
    TeamController(
        teams: dependencies.teams,
        usage: dependencies.usage,
        modelGroups: dependencies.modelGroups,
        queue: dependencies.queue,
        keyCache: dependencies.keyCache,
        limits: dependencies.teamLimits,
        limitsCache: dependencies.teamLimitsCache
    )
    .addRoutes(admin: admin, team: team, teamOrAdmin: teamOrAdmin)
    ModelGroupController(modelGroups: dependencies.modelGroups).addRoutes(to: admin)
    ProviderController(providers: dependencies.providers, secrets: dependencies.secrets, board: ProviderHealthBoard(redis: dependencies.redis))
        .addRoutes(to: admin)
    CreditController(credits: dependencies.credits, teams: dependencies.teams, balances: BalanceReader(credits: dependencies.credits))
        .addRoutes(admin: admin, teamOrAdmin: teamOrAdmin)
    AuditController(audit: dependencies.audit).addRoutes(to: admin)
    WebhookController(dependencies).addRoutes(teamOrAdmin: teamOrAdmin)
    let estimator = ReservationEstimator(
        defaultMaxTokens: dependencies.configuration.defaultMaxTokens,
        defaultContextTokens: dependencies.configuration.defaultContextTokens,
        documentLimits: dependencies.configuration.documentLimits
    )
    let jobController = JobController(
        jobs: dependencies.jobs,
        steps: dependencies.steps,
        queue: dependencies.queue,
        access: dependencies.modelAccess,
        estimator: estimator,
        pipeline: dependencies.submissions,
        waiters: dependencies.completions,
        contents: dependencies.contents,
        documents: dependencies.documents,
        uploads: UploadSubmission(documents: dependencies.documents, maxFileBytes: dependencies.configuration.maxDocumentBytes),
        limiter: dependencies.submitLimiter
    )
    BatchController(dependencies, estimator: estimator).addRoutes(team: team)
    EstimateController(dependencies, estimator: estimator).addRoutes(team: team)
    // The single-call route first: `/jobs/create-and-call` is a literal path beside `/jobs/{job_id}`.
    SingleCallController(
        jobs: dependencies.jobs,
        steps: dependencies.steps,
        submitter: jobController,
        waiters: dependencies.completions,
        feed: dependencies.callEventFeed
    ).addRoutes(team: team)
    jobController.addRoutes(team: team, teamOrAdmin: teamOrAdmin)
    StepJobController(
        jobs: dependencies.jobs,
        steps: dependencies.steps,
        queue: dependencies.queue,
        access: dependencies.modelAccess,
        estimator: estimator,
        waiters: dependencies.completions,
        feed: dependencies.callEventFeed,
        limiter: dependencies.submitLimiter
    ).addRoutes(team: team)
    JobEventsController(jobs: dependencies.jobs, feed: dependencies.jobEventFeed).addRoutes(team: team)
    DocumentController(jobs: dependencies.jobs, contents: dependencies.contents, documents: dependencies.documents).addRoutes(team: team)
    AdminJobController(jobs: dependencies.jobs, steps: dependencies.steps, queue: dependencies.queue, registry: dependencies.registry).addRoutes(
        to: admin
    )
    FleetController(control: dependencies.fleet).addRoutes(to: admin)
    // The admin dashboard's pages (`/admin`, HTML; not part of the JSON API's document).
    DashboardRoutes(dependencies: dependencies).addRoutes(to: routes)
    openAPI.publish(routes: registry)
    routes.addMethodNotAllowedAnswers(to: router)
    return router
}
