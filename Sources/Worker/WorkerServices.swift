import Logging
import ServiceLifecycle
import Shared

/// The worker's long-running parts as services, in dependency order. A `ServiceGroup` starts them
/// together and, at graceful shutdown — SIGTERM or SIGINT, or the pipeline ending after an
/// admin's drain — stops them one at a time in reverse, each once the one after it has returned:
///
/// 1. **clients** (PostgreSQL, Redis, HTTP): closed last, when nothing uses them;
///    then **metrics** (`/metrics` on `WORKER_METRICS_PORT`, when served): scraped to the end;
/// 2. **heartbeat**: reports through the grace period, then leaves the registry;
/// 3. **sweeper**;
/// 4. **lease keeper**: renews the leases of running jobs through the grace period;
/// 5. **announcements**: cancels still stop running jobs during the grace period (and a resume
///    or a concurrency change reaches the claimer);
/// 6. **webhooks**: sends the deliveries of the jobs settled during the grace period, then stops
///    claiming and lets its sends finish;
/// 7. **pipeline**: stopped first — no more claims, the grace period, the rest handed back.
struct WorkerServices {
    /// How the worker runs its jobs: from the configuration, or chosen by a test.
    struct Settings: Sendable {
        /// `WORKER_CONCURRENCY`: jobs run at once.
        var concurrency: Int
        /// `LEASE_SECONDS`: renewed every third.
        var lease: Duration
        /// `WORKER_SHUTDOWN_GRACE_SECONDS`.
        var grace: Duration
        /// `HEARTBEAT_SECONDS`.
        var heartbeat: Duration

        init(concurrency: Int, lease: Duration, grace: Duration, heartbeat: Duration) {
            self.concurrency = concurrency
            self.lease = lease
            self.grace = grace
            self.heartbeat = heartbeat
        }

        init(_ configuration: AppConfiguration) {
            self.init(
                concurrency: configuration.workerConcurrency,
                lease: .milliseconds(Int64(configuration.leaseSeconds * 1000)),
                grace: .milliseconds(Int64(configuration.shutdownGraceSeconds * 1000)),
                heartbeat: .milliseconds(Int64(configuration.heartbeatSeconds * 1000))
            )
        }
    }

    /// The jobs this worker runs (the "worker stopped" line counts them).
    let inFlight: InFlight
    /// The services, first started and last stopped first.
    let services: [ServiceGroupConfiguration.ServiceConfiguration]

    /// The services of a worker built from its dependencies.
    init(_ dependencies: WorkerDependencies, logger: Logger) {
        let health = dependencies.health
        let board = dependencies.board
        self.init(
            workerID: dependencies.workerID,
            settings: Settings(dependencies.configuration),
            clients: dependencies.clients,
            jobs: dependencies.jobs,
            queue: dependencies.queue,
            presence: dependencies.registry,
            runner: dependencies.runner,
            sweeper: dependencies.sweeper,
            announcements: [.init("cool-downs", { board.cooldownAnnouncements() }, to: { health.applyAnnouncement($0) })],
            webhooks: dependencies.webhookSender,
            metricsServer: WorkerMetricsServer(configuration: dependencies.configuration, registry: dependencies.metrics, logger: logger),
            logger: logger
        )
    }

    /// The services from their parts; `announcements` are routed beside the queue's cancels;
    /// `webhooks`, when given, is woken by the settlements.
    init(
        workerID: String,
        settings: Settings,
        clients: any Service,
        jobs: any JobStore,
        queue: any JobQueue,
        presence: any WorkerPresence,
        runner: any JobRunning,
        sweeper: any Service,
        announcements: [AnnouncementRouter.Route],
        webhooks: WebhookSender? = nil,
        metricsServer: (any Service)? = nil,
        logger: Logger
    ) {
        let inFlight = InFlight(capacity: settings.concurrency)
        let drain = Drain()
        let wakeup = ClaimWakeup()
        let concurrency = ConcurrencyControl(workerID: workerID, inFlight: inFlight, logger: logger)
        let pipeline = JobPipeline(
            workerID: workerID,
            claimer: Claimer(queue: queue, jobs: jobs, inFlight: inFlight, workerID: workerID, lease: settings.lease, wakeup: wakeup, logger: logger),
            runner: runner,
            settler: Settler(jobs: jobs, queue: queue, wakeup: wakeup, logger: logger, settled: { webhooks?.wakeup.nudge() }),
            inFlight: inFlight,
            drain: drain,
            grace: settings.grace,
            logger: logger
        )
        let cancellations = AnnouncementRouter.Route("cancellations", { queue.cancellations() }, to: { inFlight.cancel($0) })
        // Runtime control: a resume wakes the paused claimer; a concurrency change naming this
        // worker resizes its slots.
        let control = [
            AnnouncementRouter.Route("pause", { queue.pauseChanges() }, to: { paused in if !paused { wakeup.wakeNow() } }),
            AnnouncementRouter.Route("concurrency", { presence.concurrencyAnnouncements() }, to: { concurrency.announced($0) }),
        ]
        self.inFlight = inFlight
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: clients, serviceName: "clients"),
            .init(
                service: Heartbeat(
                    registry: presence,
                    workerID: workerID,
                    inFlight: inFlight,
                    drain: drain,
                    concurrency: concurrency,
                    interval: settings.heartbeat,
                    logger: logger
                ),
                serviceName: "heartbeat"
            ),
            .init(service: sweeper, serviceName: "sweeper"),
            .init(
                service: LeaseKeeper(jobs: jobs, queue: queue, inFlight: inFlight, lease: settings.lease, logger: logger),
                serviceName: "lease keeper"
            ),
            .init(service: AnnouncementRouter(routes: [cancellations] + control + announcements), serviceName: "announcements"),
        ]
        // `/metrics` right after the clients: stopped late, it answers through the grace period.
        // It may end early (its port taken): the worker goes on without it.
        if let metricsServer {
            services.insert(.init(service: metricsServer, successTerminationBehavior: .ignore, serviceName: "metrics"), at: 1)
        }
        if let webhooks { services.append(.init(service: webhooks, serviceName: "webhooks")) }
        // A drained pipeline ends by itself; the rest then stop as at SIGTERM.
        services.append(.init(service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "pipeline"))
        self.services = services
    }

    /// The group's configuration, without signals (the process adds SIGTERM and SIGINT).
    func groupConfiguration(logger: Logger) -> ServiceGroupConfiguration {
        ServiceGroupConfiguration(services: services, logger: logger)
    }
}
