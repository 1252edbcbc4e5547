import Hummingbird
import Logging
import Shared

/// The admin dashboard (`/admin`, API.md "Operations"): server-rendered pages over the same
/// controllers and stores as the admin API. Its templates are read once, here, at start; if they
/// cannot be, the API still serves and every `/admin` route answers 503 (the log says why).
struct DashboardRoutes {
    let dependencies: AppDependencies

    func addRoutes(to routes: RouteTable<AppRequestContext>, logger: Logger = Logger(label: "saas-api.dashboard")) {
        let templates: DashboardTemplates?
        do {
            templates = try DashboardTemplates.load()
        } catch {
            logger.error("admin dashboard disabled: its templates could not be loaded", metadata: ["error": "\(error)"])
            templates = nil
        }
        let dashboard = routes.group("/admin").add(middleware: DashboardMiddleware(templates: templates))
        guard let templates else {
            dashboard.get("") { _, _ in Response(status: .serviceUnavailable) }
            dashboard.get("/{path}") { _, _ in Response(status: .serviceUnavailable) }
            return
        }
        let configuration = dependencies.configuration
        let gate = DashboardGate(
            sessions: RedisDashboardSessionStore(
                redis: dependencies.redis,
                idle: .seconds(configuration.dashboardSessionIdleSeconds),
                absolute: .seconds(configuration.dashboardSessionMaxSeconds)
            ),
            audit: AuditMiddleware(audit: dependencies.audit),
            adminFingerprint: keyFingerprint(configuration.masterKey),
            secureCookies: configuration.environment == .production,
            cookieMaxAge: configuration.dashboardSessionMaxSeconds
        )
        let adminJobs = AdminJobController(
            jobs: dependencies.jobs,
            steps: dependencies.steps,
            queue: dependencies.queue,
            registry: dependencies.registry
        )
        let providers = ProviderController(
            providers: dependencies.providers,
            secrets: dependencies.secrets,
            board: ProviderHealthBoard(redis: dependencies.redis)
        )
        let teams = TeamController(
            teams: dependencies.teams,
            usage: dependencies.usage,
            modelGroups: dependencies.modelGroups,
            queue: dependencies.queue,
            keyCache: dependencies.keyCache,
            limits: dependencies.teamLimits,
            limitsCache: dependencies.teamLimitsCache
        )
        DashboardAssetsController(templates: templates).addRoutes(to: dashboard)
        DashboardLoginController(
            gate: gate,
            templates: templates,
            authenticator: AdminAuthenticator(masterKey: configuration.masterKey, failures: dependencies.failedAuth)
        ).addRoutes(to: dashboard)
        DashboardOverviewController(
            gate: gate,
            templates: templates,
            adminJobs: adminJobs,
            providers: providers,
            throughput: DashboardThroughput(postgres: dependencies.postgres)
        ).addRoutes(to: dashboard)
        DashboardTeamsController(gate: gate, templates: templates, teamsAPI: teams, credits: dependencies.credits).addRoutes(to: dashboard)
        DashboardJobsController(gate: gate, templates: templates, adminJobs: adminJobs).addRoutes(to: dashboard)
        DashboardWorkersController(gate: gate, templates: templates, adminJobs: adminJobs, fleet: dependencies.fleet).addRoutes(to: dashboard)
        DashboardProvidersController(gate: gate, templates: templates, providers: providers).addRoutes(to: dashboard)
        DashboardAuditController(gate: gate, templates: templates, auditAPI: AuditController(audit: dependencies.audit)).addRoutes(to: dashboard)
    }
}
