/// What a team's webhook can be told about, as `webhook_endpoints.events` and the deliveries'
/// `event` spell them (migration 0009).
public enum WebhookEvent: String, CaseIterable, Sendable, Hashable, Codable {
    case jobCompleted = "job.completed"
    case jobFailed = "job.failed"
    case jobCancelled = "job.cancelled"
    case jobExpired = "job.expired"
    case creditsLow = "credits.low"
}
