import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import Shared
@testable import Worker

/// The router from pub/sub channels to their handlers: cancels from the in-memory queue stop the
/// jobs running here, each channel reaches its own handler, and graceful shutdown unsubscribes.
@Suite("Announcements routed to their handlers")
struct AnnouncementRouterTests {
    @Test("a cancel the queue announces stops the running job at once; one announced before the job starts is remembered")
    func cancelsFromTheQueue() async throws {
        let queue = MemoryJobQueue()
        let store = MemoryJobStore()
        let inFlight = InFlight(capacity: 4)
        // No lease keeper: only the announcement can stop the jobs.
        let router = AnnouncementRouter(routes: [.init("cancellations", queue.cancellations, to: inFlight.cancel)])
        let listening = Task { await router.run() }
        defer { listening.cancel() }
        let claims = try await LeaseKeeperTests.claimed(3, queue: queue, store: store, lease: .seconds(600))
        let stopped = IDSet()
        LeaseKeeperTests.runUntilCancelled(claims[0], in: inFlight, stopped: stopped)
        LeaseKeeperTests.runUntilCancelled(claims[1], in: inFlight, stopped: stopped)
        // Announced until the router is subscribed (announcements before are lost, as pub/sub's are).
        #expect(
            await eventually {
                try await queue.publishCancel(claims[0].jobID)
                return stopped.ids.contains(claims[0].jobID)
            }
        )
        // Announced before its job starts, then a cancel of a running job: once that one stopped,
        // the first was handled too (announcements arrive in order).
        try await queue.publishCancel(claims[2].jobID)
        try await queue.publishCancel(claims[1].jobID)
        #expect(await eventually { stopped.ids.contains(claims[1].jobID) })
        LeaseKeeperTests.runUntilCancelled(claims[2], in: inFlight, stopped: stopped)
        #expect(await eventually(within: .seconds(5)) { stopped.ids.contains(claims[2].jobID) })
        #expect(await inFlight.waitUntilEmpty(timeout: .seconds(5)))
    }

    @Test("each channel's announcements reach its own handler, in order; graceful shutdown ends every subscription")
    func routesAndShutdown() async throws {
        let (cancels, cancelFeed) = AsyncStream.makeStream(of: UUID.self)
        let (cooldowns, cooldownFeed) = AsyncStream.makeStream(of: String.self)
        let unsubscribed = Mutex<Set<String>>([])
        cancelFeed.onTermination = { _ in unsubscribed.withLock { _ = $0.insert("cancellations") } }
        cooldownFeed.onTermination = { _ in unsubscribed.withLock { _ = $0.insert("cool-downs") } }
        let cancelled = Mutex<[UUID]>([])
        let cooled = Mutex<[String]>([])
        let router = AnnouncementRouter(routes: [
            .init("cancellations", { cancels }, to: { id in cancelled.withLock { $0.append(id) } }),
            .init("cool-downs", { cooldowns }, to: { payload in cooled.withLock { $0.append(payload) } }),
        ])
        let group = ServiceGroup(services: [router], logger: Logger(label: "router-test"))
        let running = Task { try await group.run() }
        let ids = [UUID(), UUID()]
        for id in ids { cancelFeed.yield(id) }
        cooldownFeed.yield("p|m|500")
        cooldownFeed.yield("p|n|900")
        #expect(await eventually { cancelled.withLock { $0 } == ids && cooled.withLock { $0 } == ["p|m|500", "p|n|900"] })
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(unsubscribed.withLock { $0 } == ["cancellations", "cool-downs"])
    }
}
