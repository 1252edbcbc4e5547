/// The metric names of API.md's "Operations" section — a contract for dashboards, alerts and the
/// workers' autoscaler, so they are spelled here and nowhere else. Each name's comment lists its
/// labels (``MetricLabel``) in API.md's order; a name is always recorded with exactly those labels
/// (Prometheus refuses one name with two label sets). Labels never hold a key, a job id or
/// content; `team` values go through `TeamLabels` (bounded by `METRICS_MAX_TEAMS`).
///
/// This target sits below the Redis and PostgreSQL clients so that they can count their round
/// trips and transactions under these names too.
public enum MetricName {
    /// Counter: `method`, `route` (the matched route template, never the raw path), `status`.
    public static let httpRequests = "saas_http_requests_total"
    /// Histogram (seconds): `method`, `route`, `status`.
    public static let httpRequestDuration = "saas_http_request_duration_seconds"
    /// Counter: `team`. Incremented by a batch's count where the submit commits.
    public static let jobsSubmitted = "saas_jobs_submitted_total"
    /// Counter: `team`, `status` (the job's terminal status).
    public static let jobsFinished = "saas_jobs_finished_total"
    /// Gauge: `team`, `state` (``MetricLabel/ready``, ``MetricLabel/scheduled``, ``MetricLabel/leased``).
    public static let queueJobs = "saas_queue_jobs"
    /// Gauge (seconds): `team`.
    public static let queueOldestReady = "saas_queue_oldest_ready_seconds"
    /// Gauge: `state` (``MetricLabel/busy``, ``MetricLabel/free``).
    public static let workerSlots = "saas_worker_slots"
    /// Counter: `provider`, `model`, `status_class` (`2xx`, `4xx`, `5xx`, or a transport failure's class).
    public static let upstreamRequests = "saas_upstream_requests_total"
    /// Histogram (seconds): `provider`, `model`.
    public static let upstreamRequestDuration = "saas_upstream_request_duration_seconds"
    /// Counter: `provider`, `model`, `kind` (`prompt`, `completion`).
    public static let upstreamTokens = "saas_upstream_tokens_total"
    /// Gauge: `provider`; 0 closed, 1 half-open, 2 open.
    public static let providerCircuitState = "saas_provider_circuit_state"
    /// Counter: `team`.
    public static let creditsCharged = "saas_credits_charged_total"
    /// Counter: `kind` (a bounded set: see the API's `FailedAuthRecorder`).
    public static let authFailures = "saas_auth_failures_total"
    /// Counter, no labels.
    public static let redisRoundTrips = "saas_redis_round_trips_total"
    /// Counter: `kind`.
    public static let postgresTransactions = "saas_postgres_transactions_total"
    /// Histogram (jobs per settlement transaction, 1…1000), no labels.
    public static let settlementBatchSize = "saas_settlement_batch_size"
    /// Histogram (seconds, BEGIN to the end of COMMIT or ROLLBACK, each attempt): `kind`. How long
    /// a transaction holds its locks — for `submit` and `settle`, a team's account row.
    public static let postgresTransactionDuration = "saas_postgres_transaction_duration_seconds"

    /// Counter: `path` (``MetricLabel/oneTrip``, ``MetricLabel/locking``,
    /// ``MetricLabel/oneTripMissed``). Not in API.md: how submit batches reached PostgreSQL, and
    /// how often the one-round-trip way missed.
    public static let submitBatches = "saas_submit_batches_total"

    /// Every name above, for tests and documentation.
    public static let all: [String] = [
        httpRequests, httpRequestDuration, jobsSubmitted, jobsFinished, queueJobs, queueOldestReady, workerSlots,
        upstreamRequests, upstreamRequestDuration, upstreamTokens, providerCircuitState, creditsCharged, authFailures,
        redisRoundTrips, postgresTransactions, settlementBatchSize, postgresTransactionDuration, submitBatches,
    ]
}

/// The label names of API.md's metrics, and the fixed values some of them take.
public enum MetricLabel {
    public static let method = "method"
    public static let route = "route"
    public static let status = "status"
    public static let team = "team"
    public static let state = "state"
    public static let provider = "provider"
    public static let model = "model"
    public static let statusClass = "status_class"
    public static let kind = "kind"
    public static let path = "path"

    /// `saas_queue_jobs{state}` values.
    public static let ready = "ready"
    public static let scheduled = "scheduled"
    public static let leased = "leased"
    /// `saas_worker_slots{state}` values.
    public static let busy = "busy"
    public static let free = "free"
    /// `saas_submit_batches_total{path}` values.
    public static let oneTrip = "one_trip"
    public static let locking = "locking"
    public static let oneTripMissed = "one_trip_missed"
    /// The `team` value past `METRICS_MAX_TEAMS` distinct teams.
    public static let otherTeam = "other"
    /// The `route` value of a request that matched no route (a path is never a label).
    public static let unmatchedRoute = "NotFound"
}
