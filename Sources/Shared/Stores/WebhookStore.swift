public import Foundation

/// Teams' webhook endpoints and their delivery logs, as the API manages and shows them. (The
/// senders claim and record deliveries through ``WebhookDeliveryStore``.)
public protocol WebhookStore: Sendable {
    /// Sets the team's one endpoint, replacing its URL and events and its secret (sealed with
    /// ``SecretBox``) when it has one: each PUT rotates the secret. An unknown team is
    /// ``DomainError/teamNotFound(_:)``.
    func put(teamID: String, url: String, events: [WebhookEvent], sealedSecret: [UInt8]) async throws -> WebhookEndpoint
    /// The team's endpoint, without its secret; nil when it has none.
    func get(teamID: String) async throws -> WebhookEndpoint?
    /// Removes the team's endpoint; false when it had none. Recorded deliveries stay in the log
    /// (senders fail the pending ones, which have nowhere to go).
    func delete(teamID: String) async throws -> Bool
    /// The team's deliveries, newest first; `cursor` is the position of a page's `next_cursor`.
    func deliveries(teamID: String, limit: Int, after cursor: String?) async throws -> Page<WebhookDeliveryRecord>
}
