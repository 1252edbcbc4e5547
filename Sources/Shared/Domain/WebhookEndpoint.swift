public import Foundation

/// A team's webhook endpoint as it may be shown: where deliveries go and which events are sent.
/// Its secret is never part of it (it is shown once, when set, and kept sealed).
public struct WebhookEndpoint: Sendable, Hashable {
    public var teamID: String
    public var url: String
    public var events: [WebhookEvent]
    public var createdAt: Date
    public var updatedAt: Date

    public init(teamID: String, url: String, events: [WebhookEvent], createdAt: Date, updatedAt: Date) {
        self.teamID = teamID
        self.url = url
        self.events = events
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One row of a team's delivery log: an event recorded for its endpoint and how sending it went.
public struct WebhookDeliveryRecord: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case pending, delivered, failed
    }

    public var deliveryID: UUID
    public var event: String
    public var jobID: UUID?
    public var status: Status
    public var attempts: Int
    public var lastStatusCode: Int?
    public var lastError: String?
    public var deliveredAt: Date?
    public var createdAt: Date
    /// When a pending delivery is next tried; nil once it is delivered or failed.
    public var nextAttemptAt: Date?

    public init(
        deliveryID: UUID,
        event: String,
        jobID: UUID?,
        status: Status,
        attempts: Int,
        lastStatusCode: Int?,
        lastError: String?,
        deliveredAt: Date?,
        createdAt: Date,
        nextAttemptAt: Date?
    ) {
        self.deliveryID = deliveryID
        self.event = event
        self.jobID = jobID
        self.status = status
        self.attempts = attempts
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
        self.deliveredAt = deliveredAt
        self.createdAt = createdAt
        self.nextAttemptAt = nextAttemptAt
    }
}
