import Backoff
import Foundation
import Logging
import ServiceLifecycle
import Shared
import Synchronization

/// Sends the webhook outbox: claims due deliveries from PostgreSQL (``WebhookDeliveryStore``),
/// posts each, signed, to its team's endpoint, and records how it went — delivered, retried on
/// the ``DeliverySchedule``, or failed once the retry window is over.
///
/// It is woken by this worker's settlements (``DeliveryWakeup/nudge()``) and otherwise polls every
/// `pollInterval` (one query on the partial index of due rows) for retries and other workers'
/// events: no busy loop. At most `concurrency` sends run at once; while a claim came back full it
/// waits for half the slots before claiming again, so a backlog is claimed in batches, not a row
/// per finished send.
///
/// At least once: a claim leases its rows (their due time moved past the lease), so a worker killed
/// mid-send leaves them to be claimed again; receivers drop duplicates by `webhook-id`, which
/// every attempt of a delivery shares. Each claim carries a token of its own and its outcome is
/// recorded only under it, so an attempt that outlived its lease cannot overwrite the next claim's
/// outcome. Before each send the target is checked again (``WebhookTargetPolicy/checkResolved(_:)``:
/// DNS can change since the endpoint was set); a refusal is a retry that never connected.
///
/// A whole attempt — the target check with its lookup, the send and the drain of the answer's
/// body — runs under one deadline, `timeout`: a receiver that answers its head and then trickles
/// (or never sends) the body is cut off there and retried, its slot free again.
///
/// At graceful shutdown it stops claiming and lets running sends finish within `grace`; sends
/// still running then are cancelled and recorded nowhere, so their rows fall due again when their
/// lease ends.
final class WebhookSender: Service, Sendable {
    struct Settings: Sendable {
        var concurrency: Int
        var timeout: Duration
        var pollInterval: Duration
        var grace: Duration
        var production: Bool

        init(concurrency: Int, timeout: Duration, pollInterval: Duration, grace: Duration, production: Bool) {
            self.concurrency = max(1, concurrency)
            self.timeout = timeout
            self.pollInterval = pollInterval
            self.grace = grace
            self.production = production
        }

        init(_ configuration: AppConfiguration) {
            self.init(
                concurrency: configuration.webhookSender.concurrency,
                timeout: configuration.webhookSender.timeout,
                pollInterval: configuration.webhookSender.pollInterval,
                grace: .milliseconds(Int64(configuration.shutdownGraceSeconds * 1000)),
                production: configuration.environment == .production
            )
        }

        /// How long a claimed row stays leased: the target check, a send at its timeout and the
        /// record, with room to spare. Shorter would let a slow send be claimed twice.
        var lease: Duration { timeout * 2 + .seconds(5) }
    }

    static let userAgent = "saas-webhooks/1.0"
    /// Recording outcomes: 200 ms doubling to 5 s, six attempts; after that the lease runs out
    /// and the delivery is sent again.
    static let recordRetry = RetryPolicy(base: .milliseconds(200), cap: .seconds(5), maxAttempts: 6, jitter: .full)

    let store: any WebhookDeliveryStore
    /// Made when the sender starts and shut down when it ends, so an HTTP client exists only
    /// while the service runs.
    let makeTransport: @Sendable () -> any WebhookTransport
    let secrets: SecretBox
    let schedule: DeliverySchedule
    let settings: Settings
    let wakeup: DeliveryWakeup
    let logger: Logger
    private let recorder: Batcher<DeliveryOutcome, Void>
    /// The SSRF rules every attempt is checked against (built once: its resolver is shared).
    private let policy: WebhookTargetPolicy
    /// Sends on the wire: at most `concurrency`.
    private let sending = Atomic<Int>(0)
    /// Deliveries claimed and not yet recorded (sending, or their outcome waiting for its batch):
    /// at most four times `concurrency`, so a slow database bounds what is held.
    private let active = Atomic<Int>(0)

    init(
        store: any WebhookDeliveryStore,
        transport: @escaping @Sendable () -> any WebhookTransport,
        secrets: SecretBox,
        schedule: DeliverySchedule,
        settings: Settings,
        wakeup: DeliveryWakeup = DeliveryWakeup(),
        logger: Logger
    ) {
        self.store = store
        makeTransport = transport
        self.secrets = secrets
        self.schedule = schedule
        self.settings = settings
        self.wakeup = wakeup
        self.logger = logger
        policy = WebhookTargetPolicy(production: settings.production)
        recorder = Batcher(maxBatch: 512, maxConcurrentBatches: 2) { outcomes in
            try await store.record(outcomes)
            return outcomes.map { _ in () }
        }
    }

    func run() async {
        let transport = makeTransport()
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                await claimLoop { delivery in
                    group.addTask { await self.send(delivery, through: transport) }
                }
            } onGracefulShutdown: { [wakeup] in
                wakeup.stop()
            }
            if !(await waitForSends(timeout: settings.grace)) {
                logger.info("grace period over: \(active.load(ordering: .relaxed)) webhook sends cancelled")
                group.cancelAll()
            }
        }
        await transport.shutdown()
    }

    /// Claims while slots are free and rows may be due; sleeps on the wakeup otherwise.
    private func claimLoop(start: (DueDelivery) -> Void) async {
        // Whether due rows may be waiting, and whether the last claim came back full.
        var work = true
        var backlog = false
        while !wakeup.isStopped && !Task.isCancelled {
            let free = min(
                settings.concurrency - sending.load(ordering: .acquiring),
                settings.concurrency * 4 - active.load(ordering: .acquiring)
            )
            if work && free >= (backlog ? max(1, settings.concurrency / 2) : 1) {
                do {
                    let claimed = try await store.claimDue(limit: free, lease: settings.lease, window: claimWindow)
                    for delivery in claimed {
                        active.add(1, ordering: .releasing)
                        sending.add(1, ordering: .releasing)
                        start(delivery)
                    }
                    backlog = claimed.count == free
                    work = backlog
                    continue
                } catch {
                    logger.warning("claiming webhook deliveries failed", metadata: ["error": "\(error)"])
                    work = false
                    backlog = false
                }
            }
            switch await wakeup.wait(timeout: settings.pollInterval) {
            case .work: work = true
            case .slotFreed, .stopped: break
            }
        }
    }

    /// How old an event may be and still be claimed: the retry window and a lease more. The last
    /// retry falls due at the window's very end (``DeliverySchedule``), so a claim must still take
    /// it a moment later; a row older than that (its senders were down, or it waited behind a
    /// backlog) is failed by the claim instead of sent late.
    var claimWindow: Duration { schedule.window + settings.lease }

    /// Waits for running sends to end, at most `timeout`; true when they all did.
    private func waitForSends(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while active.load(ordering: .acquiring) > 0 {
            // Cancelled outright (not a graceful shutdown): no grace, and no sleeping either.
            if Task.isCancelled { return false }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return false }
            try? await Task.sleep(for: min(left, .milliseconds(20)))
        }
        return true
    }

    /// One attempt and its record. The slot is free once the attempt ends: the outcome waits for
    /// its batch's statement without holding up the next send (the row stays leased meanwhile).
    private func send(_ delivery: DueDelivery, through transport: any WebhookTransport) async {
        defer {
            active.subtract(1, ordering: .releasing)
            wakeup.slotFreed()
        }
        let started = ContinuousClock.now
        let result = await attempt(delivery, through: transport, started: started)
        sending.subtract(1, ordering: .releasing)
        wakeup.slotFreed()
        // Cancelled at the end of the grace period: the lease hands the row to the next claim.
        if Task.isCancelled { return }
        await record(DeliveryOutcome(deliveryID: delivery.deliveryID, claimToken: delivery.claimToken, result: result))
    }

    func attempt(
        _ delivery: DueDelivery,
        through transport: any WebhookTransport,
        started: ContinuousClock.Instant
    ) async
        -> DeliveryOutcome.Result
    {
        func again(_ statusCode: Int?, _ error: String) -> DeliveryOutcome.Result {
            let age = delivery.age + (ContinuousClock.now - started)
            switch schedule.next(afterAttempt: delivery.attempts + 1, age: age) {
            case .retry(let delay): return .retry(delay: delay, statusCode: statusCode, error: error)
            case .giveUp: return .failed(statusCode: statusCode, error: error)
            }
        }
        // The exchange runs in a task of its own so that the deadline, or the end of the grace
        // period cancelling this one, can cancel it; a lookup stuck in `getaddrinfo` does not
        // hold the attempt past the deadline (raceDeadline does not wait for the loser).
        let exchange = Task { await self.exchange(delivery, through: transport) }
        let outcome = await withTaskCancellationHandler {
            await raceDeadline(seconds: Double(settings.timeout.milliseconds) / 1000) { await exchange.value }
        } onCancel: {
            exchange.cancel()
        }
        switch outcome {
        case .finished(.success(.status(let code))) where (200..<300).contains(code):
            return .delivered(statusCode: code)
        case .finished(.success(.status(let code))):
            return again(code, "HTTP \(code)")
        case .finished(.success(.unreachable(let reason))):
            return again(nil, reason)
        case .finished(.failure), .timedOut:
            exchange.cancel()
            return again(nil, "timed out")
        }
    }

    /// The attempt up to its answer: the target check, the signing and the send. A refused target
    /// or an unreadable secret comes back as `.unreachable` (the attempt never connected), in words
    /// the tenant may read: the delivery log shows them.
    private func exchange(_ delivery: DueDelivery, through transport: any WebhookTransport) async -> WebhookAnswer {
        do {
            try await policy.checkResolved(delivery.url)
        } catch {
            // The address a name resolved to is the operators' to know, never the tenant's.
            logger.debug(
                "webhook target refused",
                metadata: ["delivery_id": "\(delivery.deliveryID)", "refusal": "\(error.description)"]
            )
            return .unreachable(Self.refused(error))
        }
        guard let request = signedRequest(delivery) else {
            return .unreachable("the endpoint's secret could not be read")
        }
        return await transport.post(request)
    }

    /// A refusal as the delivery log shows it: what kind, naming no address or host.
    static func refused(_ refusal: WebhookTargetRefusal) -> String {
        switch refusal {
        case .privateAddress: "refused: the target resolves to a non-public address"
        case .unresolvable: "refused: the target's host could not be resolved"
        case .notHTTPS: "refused: the target must use https"
        case .invalidURL: "refused: the target is not a valid URL"
        }
    }

    /// The attempt's request: the stored payload's text as the body, signed for this attempt's
    /// timestamp under the delivery's stable id.
    func signedRequest(_ delivery: DueDelivery, now: Date = Date()) -> WebhookRequest? {
        guard let secret = try? secrets.open(delivery.sealedSecret) else { return nil }
        let id = delivery.deliveryID.lowercasedString
        let timestamp = Int(now.timeIntervalSince1970)
        let body = Array(delivery.payload.utf8)
        guard let signature = WebhookSignature.sign(id: id, timestamp: timestamp, body: body, secret: secret) else {
            return nil
        }
        return WebhookRequest(
            url: delivery.url,
            headers: [
                "webhook-id": id,
                "webhook-timestamp": String(timestamp),
                "webhook-signature": signature,
                "content-type": "application/json",
                "user-agent": Self.userAgent,
            ],
            body: body
        )
    }

    private func record(_ outcome: DeliveryOutcome) async {
        for attempt in 1...Self.recordRetry.maxAttempts {
            do {
                try await recorder.submit(outcome)
                return
            } catch {
                logger.warning(
                    "recording a webhook delivery failed",
                    metadata: ["delivery_id": "\(outcome.deliveryID)", "attempt": "\(attempt)", "error": "\(error)"]
                )
                if attempt < Self.recordRetry.maxAttempts { try? await Task.sleep(for: Self.recordRetry.delay(afterAttempt: attempt)) }
            }
        }
        // Its lease will end and it will be sent again (the receiver drops the duplicate by id).
        logger.error("a webhook delivery's outcome was not recorded; it will be sent again", metadata: ["delivery_id": "\(outcome.deliveryID)"])
    }
}
