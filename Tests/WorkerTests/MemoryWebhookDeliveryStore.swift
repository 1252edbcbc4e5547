import Foundation
import Shared

/// ``WebhookDeliveryStore`` in memory, following `PostgresWebhookDeliveryStore`'s statements:
/// claims fail rows past the window and lease the rest by moving their due time, under a fresh
/// claim token; records count attempts and apply only to pending rows under the outcome's token.
actor MemoryWebhookDeliveryStore: WebhookDeliveryStore {
    struct Row: Sendable {
        var delivery: DueDelivery
        var status = "pending"
        var due: ContinuousClock.Instant
        var created: ContinuousClock.Instant
        var lastStatusCode: Int?
        var lastError: String?
        var claims = 0
        var claimToken: UUID?
    }

    private(set) var rows: [UUID: Row] = [:]
    private var order: [UUID] = []

    /// Adds a pending delivery to `url`, due now, for an event `age` ago.
    @discardableResult
    func add(
        url: String,
        sealedSecret: [UInt8],
        payload: String = #"{"type":"job.completed","data":{"job_id":"x"}}"#,
        age: Duration = .zero
    ) -> UUID {
        let id = UUID()
        let now = ContinuousClock.now
        let delivery = DueDelivery(
            deliveryID: id,
            claimToken: UUID(),
            teamID: "team-1",
            event: "job.completed",
            payload: payload,
            attempts: 0,
            age: .zero,
            url: url,
            sealedSecret: sealedSecret
        )
        rows[id] = Row(delivery: delivery, due: now, created: now - age)
        order.append(id)
        return id
    }

    func row(_ id: UUID) -> Row? { rows[id] }

    func claimDue(limit: Int, lease: Duration, window: Duration) -> [DueDelivery] {
        let now = ContinuousClock.now
        let due = order.compactMap { rows[$0] }.filter { $0.status == "pending" && $0.due <= now }.sorted { $0.due < $1.due }
        return due.prefix(limit).compactMap { row in
            let id = row.delivery.deliveryID
            if now - row.created >= window {
                rows[id]?.status = "failed"
                rows[id]?.lastError = "retry window passed"
                return nil
            }
            let token = UUID()
            rows[id]?.due = now + lease
            rows[id]?.claims += 1
            rows[id]?.claimToken = token
            var delivery = row.delivery
            delivery.age = now - row.created
            delivery.claimToken = token
            return delivery
        }
    }

    func record(_ outcomes: [DeliveryOutcome]) {
        let now = ContinuousClock.now
        for outcome in outcomes {
            guard var row = rows[outcome.deliveryID], row.status == "pending", row.claimToken == outcome.claimToken else { continue }
            row.delivery.attempts += 1
            switch outcome.result {
            case .delivered(let code):
                row.status = "delivered"
                (row.lastStatusCode, row.lastError) = (code, nil)
            case .retry(let delay, let code, let error):
                row.due = now + delay
                (row.lastStatusCode, row.lastError) = (code, error)
            case .failed(let code, let error):
                row.status = "failed"
                (row.lastStatusCode, row.lastError) = (code, error)
            }
            rows[outcome.deliveryID] = row
        }
    }
}
