import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import Shared
@testable import Worker

/// The worker's service group on the in-memory queue and store, with the runner, the registry,
/// the sweeper and the clients faked: what graceful shutdown (SIGTERM) and an admin's drain do,
/// step by step, and in which order the services stop. A shutdown that never ends fails its test
/// at the time limit instead of hanging the run.
@Suite("Worker shutdown on the in-memory queue", .timeLimit(.minutes(1)))
struct WorkerShutdownTests {
    /// A worker whose jobs run until cancelled or let through `gate`; every part that would need
    /// Redis, PostgreSQL or an upstream records what happens to it in `events`.
    final class Rig: Sendable {
        let queue = MemoryJobQueue()
        let store = MemoryJobStore()
        let events = Events()
        let log = LogRecorder()
        let presence: FakePresence
        let runner: HeldRunner
        let services: WorkerServices
        let group: ServiceGroup

        /// Leases of 1.5 s renewed every 0.5 s, and a grace period of 2.5 s: a lease would expire
        /// within the grace period if it were not renewed.
        static func settings(concurrency: Int) -> WorkerServices.Settings {
            WorkerServices.Settings(concurrency: concurrency, lease: .milliseconds(1500), grace: .milliseconds(2500), heartbeat: .milliseconds(50))
        }

        init(concurrency: Int = 4) {
            let events = events
            presence = FakePresence(events: events)
            runner = HeldRunner(events: events)
            services = WorkerServices(
                workerID: "w-test",
                settings: Self.settings(concurrency: concurrency),
                clients: ShutdownHook { events.append("clients closed") },
                jobs: store,
                queue: queue,
                presence: presence,
                runner: runner,
                sweeper: ShutdownHook { events.append("sweeper stopped") },
                announcements: [],
                logger: log.logger
            )
            group = ServiceGroup(configuration: services.groupConfiguration(logger: log.logger))
        }

        /// Enqueues one job; returns it.
        func enqueue() async throws -> QueuedJob {
            let job = store.add(1)[0]
            try await queue.enqueue([job])
            return job
        }
    }

    @Test(
        "SIGTERM: claiming stops first; the running job keeps its lease through the grace period, is handed back uncounted after it; then the rest stop in reverse order, the clients last"
    )
    func gracefulShutdown() async throws {
        let rig = Rig()
        let running = Task { try await rig.group.run() }
        let first = try await rig.enqueue()
        #expect(await eventually { rig.runner.started == [first.jobID] })

        await rig.group.triggerGracefulShutdown()
        let triggered = ContinuousClock.now
        #expect(await eventually { rig.log.messages.contains("shutting down: no more claims") })
        let renewals = rig.store.renewCalls
        let beats = rig.presence.beats.count
        // Claiming has stopped: a job enqueued now stays in the queue for another worker.
        let second = try await rig.enqueue()

        // Past a whole lease into the grace period: the job still runs, its lease renewed in
        // PostgreSQL and in the queue, the worker still heartbeating with it.
        try await Task.sleep(until: triggered + .milliseconds(1800), clock: .continuous)
        #expect(rig.runner.started == [first.jobID])
        // At least one renewal inside the grace period (more on an idle machine; a loaded CI
        // run managed one).
        #expect(rig.store.renewCalls >= renewals + 1)
        #expect(try await rig.queue.expiredLeases(olderThan: .zero, offset: 0, limit: 10).isEmpty)
        #expect(rig.store.row(first.jobID)?.status == .inProgress)
        #expect(rig.presence.beats.dropFirst(beats).contains { $0.inFlight == 1 && !$0.draining })
        #expect(!rig.events.all.contains("handed back"))

        // After the grace period: handed back, not failed, no attempt counted; then the group ends.
        try await running.value
        #expect(ContinuousClock.now - triggered >= Rig.settings(concurrency: 4).grace)
        #expect(rig.store.row(first.jobID)?.status == .queued)
        #expect(rig.store.row(first.jobID)?.attempts == 0)
        #expect(rig.store.markCalls == 1)
        #expect(rig.events.all == ["handed back", "sweeper stopped", "left w-test", "clients closed"])
        #expect(rig.log.servicesFinished == ["pipeline", "announcements", "lease keeper", "sweeper", "heartbeat", "clients"])
        // Both jobs are ready in the queue.
        let next = try await rig.queue.claim(max: 10, lease: .seconds(30))
        #expect(Set(next.claims.map(\.jobID)) == [first.jobID, second.jobID])
    }

    @Test("a full worker waiting for a free slot stops claiming at once too, and claims nothing when the slot frees")
    func fullWorker() async throws {
        let rig = Rig(concurrency: 1)
        let running = Task { try await rig.group.run() }
        let first = try await rig.enqueue()
        #expect(await eventually { rig.runner.started == [first.jobID] })
        let second = try await rig.enqueue()
        try await Task.sleep(for: .milliseconds(100))
        // The claimer waits for the slot: the shutdown must end that wait, since the grace period
        // (after which the slot frees) starts only once claiming has stopped.
        await rig.group.triggerGracefulShutdown()
        let triggered = ContinuousClock.now
        #expect(await eventually { rig.log.messages.contains("shutting down: no more claims") })
        #expect(ContinuousClock.now - triggered < .seconds(2), "the claimer's wait for a slot outlasted the shutdown")
        try await running.value
        #expect(rig.runner.started == [first.jobID])
        #expect(rig.store.markCalls == 1)
        let next = try await rig.queue.claim(max: 10, lease: .seconds(30))
        #expect(Set(next.claims.map(\.jobID)) == [first.jobID, second.jobID])
    }

    @Test("drain: the worker stops claiming, finishes its running job, reports itself draining, and exits by itself")
    func drain() async throws {
        let rig = Rig()
        let ended = Mutex<Result<Void, any Error>?>(nil)
        let running = Task {
            do {
                try await rig.group.run()
                ended.withLock { $0 = .success(()) }
            } catch { ended.withLock { $0 = .failure(error) } }
        }
        defer { running.cancel() }
        let first = try await rig.enqueue()
        #expect(await eventually { rig.runner.started == [first.jobID] })

        rig.presence.requestDrain()
        #expect(await eventually { rig.log.messages.contains("drain requested: finishing in-flight jobs, then exiting") })
        let second = try await rig.enqueue()
        #expect(await eventually { rig.presence.beats.contains { $0.draining && $0.inFlight == 1 } })
        try await Task.sleep(for: .milliseconds(200))
        #expect(rig.runner.started == [first.jobID])
        #expect(ended.withLock { $0 } == nil, "the worker waits for its running job")

        rig.runner.gate.open()
        #expect(await eventually { ended.withLock { $0 } != nil }, "the drained worker did not exit")
        #expect(throws: Never.self) { try ended.withLock { $0 }?.get() }
        #expect(rig.store.row(first.jobID)?.status == .completed)
        #expect(rig.events.all == ["completed", "sweeper stopped", "left w-test", "clients closed"])
        #expect(rig.log.servicesFinished.first == "pipeline")
        #expect(rig.log.servicesFinished.dropFirst() == ["announcements", "lease keeper", "sweeper", "heartbeat", "clients"])
        let next = try await rig.queue.claim(max: 10, lease: .seconds(30))
        #expect(next.claims.map(\.jobID) == [second.jobID])
    }

    /// What happened, in order, across tasks.
    final class Events: Sendable {
        private let state = Mutex<[String]>([])

        func append(_ event: String) { state.withLock { $0.append(event) } }
        var all: [String] { state.withLock { $0 } }
    }

    /// The worker registry, in memory: heartbeats are recorded, a drain or a concurrency change
    /// is requested by the test — a change stored (the heartbeat reads it back) and announced
    /// apart, so a test can lose either.
    final class FakePresence: WorkerPresence {
        private let state = Mutex<(beats: [WorkerInfo], drain: Bool, concurrency: ConcurrencyRequest?)>(([], false, nil))
        private let announcements = AsyncStream.makeStream(of: ConcurrencyAnnouncement.self)
        let events: Events

        init(events: Events) {
            self.events = events
        }

        var beats: [WorkerInfo] { state.withLock { $0.beats } }
        func requestDrain() { state.withLock { $0.drain = true } }
        /// Stores a concurrency change without announcing it (as if the announcement were lost).
        func storeConcurrency(_ request: ConcurrencyRequest) { state.withLock { $0.concurrency = request } }
        /// Announces a concurrency change without storing it.
        func announce(_ announcement: ConcurrencyAnnouncement) { announcements.continuation.yield(announcement) }

        func heartbeat(_ info: WorkerInfo) async throws -> HeartbeatAnswer {
            state.withLock { state in
                state.beats.append(info)
                return HeartbeatAnswer(drain: state.drain, concurrency: state.concurrency)
            }
        }

        func concurrencyAnnouncements() -> AsyncStream<ConcurrencyAnnouncement> { announcements.stream }

        func leave(_ workerID: String) async throws {
            events.append("left \(workerID)")
        }
    }

    /// A call step whose jobs run until their task is cancelled — then they go back to the queue
    /// without counting an attempt, as ``JobRunner`` hands them back — or until `gate` opens.
    final class HeldRunner: JobRunning {
        let gate = Gate()
        let events: Events
        private let state = Mutex<[UUID]>([])

        init(events: Events) {
            self.events = events
        }

        var started: [UUID] { state.withLock { $0 } }

        func run(_ job: ClaimedJob) async -> Settlement {
            state.withLock { $0.append(job.claim.jobID) }
            await withTaskCancellationHandler {
                await gate.wait()
            } onCancel: { [gate] in
                gate.open()
            }
            if Task.isCancelled {
                events.append("handed back")
                return Settlement(
                    claim: job.claim,
                    outcome: .retry(delay: .zero, countsAttempt: false, message: nil),
                    calls: [],
                    reachedUpstream: false
                )
            }
            events.append("completed")
            return Settlement(claim: job.claim, outcome: SettlerTests.completed, calls: [], reachedUpstream: false)
        }
    }

    /// A logger whose messages the test reads, at debug level: the service group's own lines say
    /// which service finished when.
    final class LogRecorder: Sendable {
        private let entries = Mutex<[(message: String, metadata: Logger.Metadata)]>([])

        var logger: Logger {
            var logger = Logger(label: "shutdown-test") { _ in Handler(recorder: self) }
            logger.logLevel = .debug
            return logger
        }

        var messages: [String] { entries.withLock { $0.map(\.message) } }

        /// The services the group saw finish, in order.
        var servicesFinished: [String] {
            entries.withLock { entries in
                entries.filter { $0.message.hasPrefix("Service finished") }.compactMap { $0.metadata["sl-service"]?.description }
            }
        }

        fileprivate func record(_ event: LogEvent, _ metadata: Logger.Metadata) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            entries.withLock { $0.append((event.message.description, merged)) }
        }

        private struct Handler: LogHandler {
            let recorder: LogRecorder
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .debug
            var metadataProvider: Logger.MetadataProvider?

            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }

            func log(event: LogEvent) {
                recorder.record(event, metadata)
            }
        }
    }
}
