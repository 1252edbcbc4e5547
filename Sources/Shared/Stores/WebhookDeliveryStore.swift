public import Foundation

/// A webhook delivery a sender has claimed: the recorded event with where it goes and the sealed
/// secret that signs it, both read from the team's endpoint as they are now (a new URL or a rotated
/// secret applies to the next attempt).
public struct DueDelivery: Sendable, Hashable {
    /// The stable `webhook-id` of every attempt.
    public var deliveryID: UUID
    /// This claim's own token: its outcome is recorded only while the row still carries it, so
    /// a sender whose lease ran out cannot overwrite the next claim's outcome.
    public var claimToken: UUID
    public var teamID: String
    public var event: String
    /// The body: the stored `jsonb` as PostgreSQL renders it, the same text on every attempt.
    public var payload: String
    /// Attempts made before this one.
    public var attempts: Int
    /// How long ago the event was recorded, by PostgreSQL's clock (the retry window counts from it).
    public var age: Duration
    public var url: String
    /// The endpoint's secret, sealed with ``SecretBox``.
    public var sealedSecret: [UInt8]

    public init(
        deliveryID: UUID,
        claimToken: UUID,
        teamID: String,
        event: String,
        payload: String,
        attempts: Int,
        age: Duration,
        url: String,
        sealedSecret: [UInt8]
    ) {
        self.deliveryID = deliveryID
        self.claimToken = claimToken
        self.teamID = teamID
        self.event = event
        self.payload = payload
        self.attempts = attempts
        self.age = age
        self.url = url
        self.sealedSecret = sealedSecret
    }
}

/// How one attempt ended, as the sender records it.
public struct DeliveryOutcome: Sendable, Hashable {
    public enum Result: Sendable, Hashable {
        /// The receiver answered 2xx.
        case delivered(statusCode: Int)
        /// Try again after `delay`: the receiver answered something else, or could not be reached.
        case retry(delay: Duration, statusCode: Int?, error: String?)
        /// The retry window is over: no more attempts.
        case failed(statusCode: Int?, error: String?)
    }

    public var deliveryID: UUID
    /// The token of the claim the attempt was made under (``DueDelivery/claimToken``).
    public var claimToken: UUID
    public var result: Result

    public init(deliveryID: UUID, claimToken: UUID, result: Result) {
        self.deliveryID = deliveryID
        self.claimToken = claimToken
        self.result = result
    }
}

/// The webhook outbox as the senders see it: `webhook_deliveries`, filled by triggers in the
/// transactions that end jobs and lower balances (migration 0009), is their queue.
public protocol WebhookDeliveryStore: Sendable {
    /// Claims up to `limit` pending deliveries that are due, oldest due first, and leases them for
    /// `lease` by moving their `next_attempt_at` past it: a sender that dies mid-send leaves them to
    /// be claimed again once the lease ends (at least once). Each claimed row gets a fresh claim
    /// token. Concurrent claimers skip each other's rows. A due delivery whose team no longer has an
    /// endpoint, or whose event is `window` old or older, is failed instead of returned (a row whose
    /// window passed while nobody could send it is not sent a day late).
    func claimDue(limit: Int, lease: Duration, window: Duration) async throws -> [DueDelivery]

    /// Records attempts' outcomes, all in one statement. Each counts one attempt, and applies only
    /// while its row is pending under the outcome's claim token: a late outcome from a claim whose
    /// lease ran out (the row since claimed again, or settled) changes nothing.
    func record(_ outcomes: [DeliveryOutcome]) async throws
}
