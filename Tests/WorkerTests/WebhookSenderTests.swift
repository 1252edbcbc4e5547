import Crypto
import Foundation
import Logging
import ServiceLifecycle
import Shared
import Testing

@testable import Worker

/// The webhook sender against a real HTTP receiver on 127.0.0.1 (``WebhookReceiver``) and the
/// in-memory outbox: what goes on the wire, what is retried, what is never followed or reached.
@Suite("Webhook sender")
struct WebhookSenderTests {
    static let secret = "whsec_" + Data(repeating: 7, count: 32).base64EncodedString()
    static let box = SecretBox(key: SymmetricKey(data: Data(repeating: 1, count: 32)))

    static func sender(
        _ store: MemoryWebhookDeliveryStore,
        production: Bool = false,
        timeout: Duration = .seconds(5),
        base: Duration = .milliseconds(20),
        window: Duration = .seconds(60),
        poll: Duration = .milliseconds(20),
        grace: Duration = .seconds(5),
        concurrency: Int = 8
    ) -> WebhookSender {
        WebhookSender(
            store: store,
            transport: { WebhookHTTP(timeout: timeout, concurrency: concurrency) },
            secrets: box,
            schedule: DeliverySchedule(base: base, cap: base * 4, window: window),
            settings: .init(concurrency: concurrency, timeout: timeout, pollInterval: poll, grace: grace, production: production),
            logger: Logger(label: "webhook-test")
        )
    }

    /// Runs the sender until `done` holds (or 15 s pass), then stops it.
    static func running(_ sender: WebhookSender, until done: @escaping @Sendable () async -> Bool) async {
        let task = Task { await sender.run() }
        let deadline = ContinuousClock.now + .seconds(15)
        while !(await done()), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        task.cancel()
        await task.value
    }

    static func sealed() throws -> [UInt8] { try box.seal(secret) }

    @Test("a delivery carries the stored payload, signed so that the secret verifies it")
    func signed() async throws {
        let receiver = try await WebhookReceiver.start { _, _ in .status(204) }
        let store = MemoryWebhookDeliveryStore()
        let payload = #"{"data": {"job_id": "j-1", "text": "é"}, "type": "job.completed"}"#
        let id = await store.add(url: receiver.baseURL + "/hook", sealedSecret: try Self.sealed(), payload: payload)
        await Self.running(Self.sender(store)) { await store.row(id)?.status == "delivered" }
        await receiver.stop()

        let requests = receiver.requests(at: "/hook")
        #expect(requests.count == 1)
        let request = try #require(requests.first)
        #expect(request.body == Array(payload.utf8))
        #expect(request.headers["webhook-id"] == id.lowercasedString)
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["user-agent"] == WebhookSender.userAgent)
        let timestamp = try #require(request.headers["webhook-timestamp"].flatMap { Int($0) })
        #expect(abs(timestamp - Int(Date().timeIntervalSince1970)) < 30)
        let signature = try #require(request.headers["webhook-signature"])
        #expect(signature.hasPrefix("v1,"))
        #expect(
            WebhookSignature.verify(
                id: id.lowercasedString,
                timestamp: timestamp,
                body: request.body,
                signatureHeader: signature,
                secret: Self.secret,
                now: Int(Date().timeIntervalSince1970)
            )
        )
        #expect(
            !WebhookSignature.verify(
                id: id.lowercasedString,
                timestamp: timestamp,
                body: request.body + [0x20],
                signatureHeader: signature,
                secret: Self.secret,
                now: Int(Date().timeIntervalSince1970)
            )
        )
        let row = await store.row(id)
        #expect(row?.lastStatusCode == 204)
        #expect(row?.delivery.attempts == 1)
    }

    @Test("a receiver answering 500 three times then 200 gets the event exactly once more, under the same id")
    func retriedUntilDelivered() async throws {
        let receiver = try await WebhookReceiver.start { _, n in n < 3 ? .status(500) : .status(200) }
        let store = MemoryWebhookDeliveryStore()
        let id = await store.add(url: receiver.baseURL + "/hook", sealedSecret: try Self.sealed())
        await Self.running(Self.sender(store)) { await store.row(id)?.status == "delivered" }
        // Time for a fifth request, were one coming.
        try await Task.sleep(for: .milliseconds(300))
        await receiver.stop()

        let requests = receiver.requests(at: "/hook")
        #expect(requests.count == 4)
        #expect(Set(requests.compactMap { $0.headers["webhook-id"] }) == [id.lowercasedString])
        #expect(Set(requests.map(\.body)).count == 1)
        let row = await store.row(id)
        #expect(row?.status == "delivered")
        #expect(row?.delivery.attempts == 4)
    }

    @Test("a redirect is not followed: its target sees nothing and the delivery is retried with the 302")
    func redirectNotFollowed() async throws {
        let holder = URLHolder()
        let receiver = try await WebhookReceiver.start { path, _ in
            path == "/hook" ? .redirect(holder.url + "/target") : .status(200)
        }
        holder.url = receiver.baseURL
        let store = MemoryWebhookDeliveryStore()
        let id = await store.add(url: receiver.baseURL + "/hook", sealedSecret: try Self.sealed())
        await Self.running(Self.sender(store, base: .seconds(60))) { await store.row(id)?.delivery.attempts == 1 }
        await receiver.stop()

        #expect(receiver.requests(at: "/hook").count == 1)
        #expect(receiver.requests(at: "/target").isEmpty)
        let row = await store.row(id)
        #expect(row?.status == "pending")
        #expect(row?.lastStatusCode == 302)
    }

    @Test("in production a loopback target is refused before connecting, and retried (DNS can change)")
    func productionRefusesLoopback() async throws {
        let receiver = try await WebhookReceiver.start { _, _ in .status(200) }
        let store = MemoryWebhookDeliveryStore()
        // Plain http, an https name that resolves to loopback, and an https loopback literal.
        let ids = [
            await store.add(url: receiver.baseURL + "/hook", sealedSecret: try Self.sealed()),
            await store.add(url: "https://localhost:\(receiver.port)/hook", sealedSecret: try Self.sealed()),
            await store.add(url: "https://127.0.0.1:\(receiver.port)/hook", sealedSecret: try Self.sealed()),
        ]
        await Self.running(Self.sender(store, production: true, base: .seconds(60))) {
            var done = true
            for id in ids where await store.row(id)?.delivery.attempts != 1 { done = false }
            return done
        }
        await receiver.stop()

        #expect(receiver.requests().isEmpty)
        for id in ids {
            let row = await store.row(id)
            #expect(row?.status == "pending")
            #expect(row?.lastStatusCode == nil)
            #expect(row?.lastError?.hasPrefix("refused: ") == true, "\(row?.lastError ?? "nil")")
        }
        // The tenant reads the log: the kind of refusal, never the address a name resolved to.
        #expect(await store.row(ids[0])?.lastError == "refused: the target must use https")
        for id in ids.dropFirst() {
            let error = await store.row(id)?.lastError ?? ""
            #expect(error == "refused: the target resolves to a non-public address")
            #expect(!error.contains("127.0.0.1") && !error.contains("::1"))
        }
    }

    @Test("the refusal sentences the delivery log shows name no address or host")
    func refusalWords() {
        let refusals: [WebhookTargetRefusal] = [
            .privateAddress("10.1.2.3"), .unresolvable("internal.corp"), .notHTTPS, .invalidURL("it has no host"),
        ]
        for refusal in refusals {
            let text = WebhookSender.refused(refusal)
            #expect(text.hasPrefix("refused: "))
            #expect(!text.contains("10.1.2.3") && !text.contains("internal.corp"), "\(text)")
        }
    }

    @Test("a body trickled or stalled after the head is cut off at the timeout and retried; the slot frees")
    func stalledBodyTimesOut() async throws {
        let receiver = try await WebhookReceiver.start { path, _ in
            switch path {
            case "/trickle": .trickle(every: .milliseconds(300))
            case "/stall": .trickle(every: nil)
            default: .status(200)
            }
        }
        let store = MemoryWebhookDeliveryStore()
        let trickled = await store.add(url: receiver.baseURL + "/trickle", sealedSecret: try Self.sealed())
        let stalled = await store.add(url: receiver.baseURL + "/stall", sealedSecret: try Self.sealed())
        let next = await store.add(url: receiver.baseURL + "/hook", sealedSecret: try Self.sealed())
        let started = ContinuousClock.now
        // One slot: the third delivery goes out only once each hanging one has given its slot back.
        let sender = Self.sender(store, timeout: .seconds(1), base: .seconds(60), concurrency: 1)
        await Self.running(sender) { await store.row(next)?.status == "delivered" }
        let elapsed = ContinuousClock.now - started
        await receiver.stop()

        #expect(elapsed < .seconds(6), "\(elapsed)")
        for id in [trickled, stalled] {
            let row = await store.row(id)
            #expect(row?.status == "pending")
            #expect(row?.delivery.attempts == 1)
            #expect(row?.lastError == "timed out")
            #expect(row?.lastStatusCode == nil)
        }
        #expect(await store.row(next)?.status == "delivered")
    }

    @Test("a delivery older than the window is failed by the claim, never sent")
    func staleNotSent() async throws {
        let receiver = try await WebhookReceiver.start { _, _ in .status(200) }
        let store = MemoryWebhookDeliveryStore()
        // The claim window is the retry window and a lease more: 60 s + 15 s here.
        let stale = await store.add(url: receiver.baseURL + "/hook", sealedSecret: try Self.sealed(), age: .seconds(120))
        let fresh = await store.add(url: receiver.baseURL + "/hook", sealedSecret: try Self.sealed())
        await Self.running(Self.sender(store)) {
            let failed = await store.row(stale)?.status == "failed"
            let delivered = await store.row(fresh)?.status == "delivered"
            return failed && delivered
        }
        await receiver.stop()

        #expect(receiver.requests(at: "/hook").count == 1)
        let row = await store.row(stale)
        #expect(row?.status == "failed")
        #expect(row?.lastError == "retry window passed")
        #expect(row?.delivery.attempts == 0)
        #expect(await store.row(fresh)?.status == "delivered")
    }

    @Test("an endless answer is read no further than 64 KiB: the 200 counts and the sender hangs up")
    func floodNotRead() async throws {
        let receiver = try await WebhookReceiver.start { _, _ in .flood }
        let store = MemoryWebhookDeliveryStore()
        let id = await store.add(url: receiver.baseURL + "/hook", sealedSecret: try Self.sealed())
        let started = ContinuousClock.now
        await Self.running(Self.sender(store, timeout: .seconds(10))) { await store.row(id)?.status == "delivered" }
        #expect(ContinuousClock.now - started < .seconds(5))
        // The sender hung up: the receiver's writes stop (what it wrote is what the sockets'
        // buffers took before the close, not the endless stream).
        try await Task.sleep(for: .milliseconds(300))
        let written = receiver.floodedBytes
        try await Task.sleep(for: .milliseconds(300))
        #expect(receiver.floodedBytes == written)
        await receiver.stop()
        #expect(await store.row(id)?.lastStatusCode == 200)
    }

    @Test("a receiver slower than the timeout is retried, and the next answer delivers")
    func slowReceiverTimesOut() async throws {
        let receiver = try await WebhookReceiver.start { _, n in n == 0 ? .slow(.seconds(5), 200) : .status(200) }
        let store = MemoryWebhookDeliveryStore()
        let id = await store.add(url: receiver.baseURL + "/hook", sealedSecret: try Self.sealed())
        let started = ContinuousClock.now
        await Self.running(Self.sender(store, timeout: .milliseconds(500))) { await store.row(id)?.status == "delivered" }
        await receiver.stop()

        #expect(ContinuousClock.now - started < .seconds(4))
        let requests = receiver.requests(at: "/hook")
        #expect(requests.count == 2)
        #expect(requests.first?.headers["webhook-id"] == requests.last?.headers["webhook-id"])
        #expect(await store.row(id)?.delivery.attempts == 2)
    }

    @Test("past the retry window a failing delivery fails for good")
    func windowEnds() async throws {
        let receiver = try await WebhookReceiver.start { _, _ in .status(503) }
        let store = MemoryWebhookDeliveryStore()
        let id = await store.add(url: receiver.baseURL + "/hook", sealedSecret: try Self.sealed())
        await Self.running(Self.sender(store, window: .milliseconds(300))) { await store.row(id)?.status == "failed" }
        await receiver.stop()

        let row = await store.row(id)
        #expect(row?.status == "failed")
        #expect(row?.lastStatusCode == 503)
        #expect(row?.lastError == "HTTP 503")
        // How many attempts fit in the window depends on how fast a loaded machine runs them (one
        // is enough to end it); that retries happen is the 500-three-times test's.
        #expect((row?.delivery.attempts ?? 0) >= 1)
    }

    @Test("graceful shutdown stops claiming but lets a running send finish and be recorded")
    func shutdownFinishesSends() async throws {
        let receiver = try await WebhookReceiver.start { _, _ in .slow(.milliseconds(500), 200) }
        let store = MemoryWebhookDeliveryStore()
        let id = await store.add(url: receiver.baseURL + "/hook", sealedSecret: try Self.sealed())
        let sender = Self.sender(store)
        let group = ServiceGroup(services: [sender], logger: Logger(label: "webhook-test"))
        let task = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(10)
        while receiver.requests(at: "/hook").isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        await group.triggerGracefulShutdown()
        while !sender.wakeup.isStopped { try await Task.sleep(for: .milliseconds(5)) }
        // Added once claiming stopped: never claimed.
        let late = await store.add(url: receiver.baseURL + "/hook", sealedSecret: try Self.sealed())
        try await task.value
        await receiver.stop()

        #expect(await store.row(id)?.status == "delivered")
        #expect(await store.row(late)?.claims == 0)
    }

    @Test("the nudge wakes an idle sender at once; the poll is its backstop")
    func nudgeWakes() async throws {
        let receiver = try await WebhookReceiver.start { _, _ in .status(200) }
        let store = MemoryWebhookDeliveryStore()
        let sender = Self.sender(store, poll: .seconds(30))
        let task = Task { await sender.run() }
        try await Task.sleep(for: .milliseconds(100))
        let id = await store.add(url: receiver.baseURL + "/hook", sealedSecret: try Self.sealed())
        let nudged = ContinuousClock.now
        sender.wakeup.nudge()
        let deadline = ContinuousClock.now + .seconds(5)
        while await store.row(id)?.status != "delivered", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(ContinuousClock.now - nudged < .seconds(3))
        #expect(await store.row(id)?.status == "delivered")
        task.cancel()
        await task.value
        await receiver.stop()
    }

    /// The receiver's own URL, known only once it runs, for its redirect.
    final class URLHolder: @unchecked Sendable {
        private let lock = NSLock()
        private var value = ""
        var url: String {
            get { lock.withLock { value } }
            set { lock.withLock { value = newValue } }
        }
    }
}
