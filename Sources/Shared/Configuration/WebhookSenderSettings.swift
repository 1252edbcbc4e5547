/// How workers send webhook deliveries (`WEBHOOK_CONCURRENCY`, `WEBHOOK_TIMEOUT_SECONDS`,
/// `WEBHOOK_RETRY_BASE_MS`, `WEBHOOK_RETRY_WINDOW_SECONDS`, `WEBHOOK_POLL_MS`).
public struct WebhookSenderSettings: Sendable, Hashable {
    /// Deliveries one worker sends at once.
    public var concurrency: Int
    /// One attempt's connect and total time; past it the attempt is retried.
    public var timeout: Duration
    /// The first retry's delay; each further one doubles it (with jitter), up to an hour.
    public var retryBase: Duration
    /// How long after its event a delivery is still tried (24 h): then it is failed for good.
    public var retryWindow: Duration
    /// How often an idle sender looks for due retries (its own worker's settlements wake it at once).
    public var pollInterval: Duration

    public init(
        concurrency: Int = 32,
        timeout: Duration = .seconds(10),
        retryBase: Duration = .seconds(5),
        retryWindow: Duration = .seconds(86_400),
        pollInterval: Duration = .seconds(1)
    ) {
        self.concurrency = concurrency
        self.timeout = timeout
        self.retryBase = retryBase
        self.retryWindow = retryWindow
        self.pollInterval = pollInterval
    }
}
