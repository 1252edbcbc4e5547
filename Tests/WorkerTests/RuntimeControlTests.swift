import Foundation
import Logging
import Redis
import ServiceLifecycle
import Synchronization
import Testing

@testable import Shared
@testable import Worker

/// Runtime control on the worker's side, on the in-memory queue: a concurrency change applied
/// by the claimer without a restart (growing claims more at once, shrinking never cancels and
/// claims nothing until fewer run), learnt from an announcement or — when that was lost — from
/// the next heartbeat; and a paused fleet's claimer that starts again on the resume.
@Suite("Runtime control in the worker", .timeLimit(.minutes(1)))
struct RuntimeControlTests {
    /// Per-job gates: the test lets jobs end one at a time.
    final class Gates: Sendable {
        private let gates = Mutex<[UUID: Gate]>([:])

        func gate(_ jobID: UUID) -> Gate {
            gates.withLock { gates in
                if let gate = gates[jobID] { return gate }
                let gate = Gate()
                gates[jobID] = gate
                return gate
            }
        }
    }

    static func control(_ inFlight: InFlight) -> ConcurrencyControl {
        ConcurrencyControl(workerID: "w-test", inFlight: inFlight, logger: Logger(label: "runtime-control-test"))
    }

    @Test("a claimer at concurrency 2 changed to 5 claims up to 5 at once, never more")
    func grow() async throws {
        let rig = ClaimerTests.Rig(capacity: 2)
        let jobs = (1...8).map { _ in rig.store.add(1)[0] }
        try await rig.queue.enqueue(jobs)
        let gate = Gate()
        let claiming = rig.run(gate: gate)
        defer { claiming.cancel() }
        #expect(await eventually { rig.startedIDs.count == 2 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(rig.startedIDs.count == 2)

        Self.control(rig.inFlight).apply(ConcurrencyRequest(version: 1, concurrency: 5))
        #expect(rig.inFlight.capacity == 5)
        #expect(await eventually { rig.startedIDs.count == 5 }, "the new slots are claimed without a restart")
        try await Task.sleep(for: .milliseconds(200))
        #expect(rig.startedIDs.count == 5)
        #expect(rig.running.withLock { $0.most } <= 5)
        gate.open()
        #expect(await eventually { rig.startedIDs.count == 8 })
        #expect(rig.running.withLock { $0.most } <= 5)
    }

    @Test("changed to 1 with 3 in flight: nothing is cancelled, nothing is claimed until fewer than 1 run")
    func shrink() async throws {
        let rig = ClaimerTests.Rig(capacity: 3)
        let jobs = (1...6).map { _ in rig.store.add(1)[0] }
        try await rig.queue.enqueue(jobs)
        let gates = Gates()
        let claiming = Task {
            await rig.claimer.run { job in
                rig.started.withLock { $0.append(job) }
                rig.inFlight.start(job.claim) {
                    rig.running.withLock { $0 = ($0.now + 1, max($0.most, $0.now + 1)) }
                    await gates.gate(job.claim.jobID).wait()
                    rig.running.withLock { $0.now -= 1 }
                }
            }
        }
        defer { claiming.cancel() }
        #expect(await eventually { rig.startedIDs.count == 3 })
        let first = rig.startedIDs

        Self.control(rig.inFlight).apply(ConcurrencyRequest(version: 1, concurrency: 1))
        #expect(rig.inFlight.capacity == 1)
        #expect(rig.inFlight.count == 3, "the running jobs go on")
        // Two of the three end: one still runs, which is the new concurrency — nothing claimed.
        gates.gate(first[0]).open()
        gates.gate(first[1]).open()
        #expect(await eventually { rig.inFlight.count == 1 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(rig.startedIDs.count == 3, "a claim while as many run as the new concurrency")
        // The last ends: one at a time from now on.
        gates.gate(first[2]).open()
        #expect(await eventually { rig.startedIDs.count == 4 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(rig.startedIDs.count == 4)
        #expect(rig.inFlight.count == 1)
        for job in jobs { gates.gate(job.jobID).open() }
        #expect(await eventually { rig.startedIDs.count == 6 })
        #expect(rig.store.row(first[0])?.status == .inProgress, "marked, never handed back")
    }

    @Test("an older change arriving after a newer one is ignored")
    func versions() {
        let inFlight = InFlight(capacity: 4)
        let control = Self.control(inFlight)
        control.apply(ConcurrencyRequest(version: 5, concurrency: 9))
        control.apply(ConcurrencyRequest(version: 4, concurrency: 2))
        #expect(inFlight.capacity == 9)
        control.announced(ConcurrencyAnnouncement(workerID: "w-other", request: ConcurrencyRequest(version: 6, concurrency: 1)))
        #expect(inFlight.capacity == 9, "another worker's change")
        control.announced(ConcurrencyAnnouncement(workerID: "w-test", request: ConcurrencyRequest(version: 6, concurrency: 1)))
        #expect(inFlight.capacity == 1)
    }

    @Test("a change made after Redis lost its data is applied by a worker that applied earlier ones")
    func changeAfterDataLoss() async throws {
        let url = ProcessInfo.processInfo.environment["TEST_REDIS_URL"] ?? "redis://127.0.0.1:6381/1"
        let redis = RedisClient(configuration: try RedisConfiguration(url: url))
        defer { redis.shutdown() }
        let registry = WorkerRegistry(redis: redis, queueName: "rc-\(UUID().uuidString.prefix(8).lowercased())", staleAfter: .seconds(30))
        let info = WorkerInfo(
            workerID: "w-test",
            host: "h",
            pid: 1,
            concurrency: 4,
            inFlight: 0,
            startedAt: Date(),
            lastSeen: Date(),
            draining: false
        )
        let inFlight = InFlight(capacity: 4)
        let control = Self.control(inFlight)
        func changeAndBeat(to concurrency: Int) async throws {
            _ = try await registry.heartbeat(info)
            _ = try await registry.setConcurrency(info.workerID, to: concurrency)
            control.apply(try #require(try await registry.heartbeat(info).concurrency))
        }
        for concurrency in [5, 6, 7] { try await changeAndBeat(to: concurrency) }
        #expect(inFlight.capacity == 7)
        // FLUSHDB, for this registry's keys only (other suites share the database).
        let keys = try await redis.send("KEYS", RedisArgument(registry.keys.tag + "*")).array?.compactMap(\.string) ?? []
        #expect(!keys.isEmpty)
        _ = try await redis.send(RedisCommand(["DEL"] + keys.map { RedisArgument($0) }))
        try await changeAndBeat(to: 2)
        #expect(inFlight.capacity == 2, "the change after the flush was applied")
    }

    @Test("a change whose announcement was lost is applied at the next heartbeat, which then reports it")
    func storedChangeAtHeartbeat() async throws {
        let rig = WorkerShutdownTests.Rig(concurrency: 2)
        let running = Task { try await rig.group.run() }
        defer { running.cancel() }
        #expect(await eventually { rig.presence.beats.contains { $0.concurrency == 2 } })
        rig.presence.storeConcurrency(ConcurrencyRequest(version: 1, concurrency: 7))
        #expect(await eventually { rig.services.inFlight.capacity == 7 })
        #expect(await eventually { rig.presence.beats.last?.concurrency == 7 }, "the heartbeat reports the new concurrency")
        await rig.group.triggerGracefulShutdown()
        try await running.value
    }

    @Test("an announced change naming this worker is applied at once; paused, the worker claims nothing until the resume")
    func announcedChangeAndPause() async throws {
        let rig = WorkerShutdownTests.Rig(concurrency: 2)
        let running = Task { try await rig.group.run() }
        defer { running.cancel() }
        // The announcement route subscribes when the group starts: announce until applied.
        #expect(
            await eventually {
                rig.presence.announce(ConcurrencyAnnouncement(workerID: "w-test", request: ConcurrencyRequest(version: 1, concurrency: 3)))
                return rig.services.inFlight.capacity == 3
            }
        )

        try await rig.queue.setPaused(true)
        let job = try await rig.enqueue()
        try await Task.sleep(for: .milliseconds(500))
        #expect(rig.runner.started.isEmpty, "a paused worker claims nothing")
        #expect(try await rig.queue.held([job.jobID]) == [job.jobID])
        try await rig.queue.setPaused(false)
        #expect(await eventually { rig.runner.started == [job.jobID] })
        rig.runner.gate.open()
        await rig.group.triggerGracefulShutdown()
        try await running.value
    }
}
