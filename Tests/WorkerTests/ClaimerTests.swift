import Foundation
import Logging
import Synchronization
import Testing

@testable import Shared
@testable import Worker

/// Claim on the in-memory queue: what the claimer takes, when, and what it gives back.
@Suite("Claim on the in-memory queue")
struct ClaimerTests {
    /// A claimer over `queue` and `store` whose jobs run `work` in `inFlight`; `started` records
    /// the jobs in the order they started.
    final class Rig: Sendable {
        let queue = MemoryJobQueue()
        let store = MemoryJobStore()
        let inFlight: InFlight
        let wakeup = ClaimWakeup()
        let started = Mutex<[ClaimedJob]>([])
        let running = Mutex<(now: Int, most: Int)>((0, 0))

        init(capacity: Int) {
            inFlight = InFlight(capacity: capacity)
        }

        var claimer: Claimer {
            Claimer(
                queue: queue,
                jobs: store,
                inFlight: inFlight,
                workerID: "w-test",
                lease: .seconds(30),
                wakeup: wakeup,
                logger: Logger(label: "claimer-test")
            )
        }

        var startedIDs: [UUID] { started.withLock { $0.map(\.claim.jobID) } }

        /// Runs the claimer in a task of its own; each job waits at `gate`, then ends.
        func run(gate: Gate? = nil) -> Task<Void, Never> {
            Task { [self] in
                await claimer.run { [self] job in
                    started.withLock { $0.append(job) }
                    inFlight.start(job.claim) { [self] in
                        running.withLock { $0 = ($0.now + 1, max($0.most, $0.now + 1)) }
                        await gate?.wait()
                        running.withLock { $0.now -= 1 }
                    }
                }
            }
        }
    }

    @Test("jobs start by priority as slots free up, never more than the capacity, each marked under its claim's token")
    func prioritiesAndCapacity() async throws {
        let rig = Rig(capacity: 2)
        let jobs = (1...5).map { rig.store.add(1, priority: $0)[0] }
        try await rig.queue.enqueue(jobs)
        let gate = Gate()
        let claiming = rig.run(gate: gate)
        defer { claiming.cancel() }
        #expect(await eventually { rig.startedIDs.count == 2 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(rig.startedIDs == [jobs[4].jobID, jobs[3].jobID])
        gate.open()
        #expect(await eventually { rig.startedIDs.count == 5 })
        #expect(rig.startedIDs == jobs.reversed().map(\.jobID))
        #expect(rig.running.withLock { $0.most } <= 2)
        for job in rig.started.withLock({ $0 }) {
            #expect(rig.store.row(job.claim.jobID)?.token == job.claim.token)
            #expect(rig.store.row(job.claim.jobID)?.status == .inProgress)
        }
        // Still leased in the queue: nothing is handed out twice.
        #expect(try await rig.queue.claim(max: 10, lease: .seconds(30)).claims.isEmpty)
    }

    @Test("idle, the claimer waits on the queue and starts a job enqueued later at once")
    func idleWait() async throws {
        let rig = Rig(capacity: 4)
        let claiming = rig.run()
        defer { claiming.cancel() }
        try await Task.sleep(for: .milliseconds(300))
        #expect(rig.startedIDs.isEmpty)
        let job = rig.store.add(1)
        let enqueued = ContinuousClock.now
        try await rig.queue.enqueue(job)
        // Its wait would last 30 s: starting well before shows the enqueue woke it.
        #expect(await eventually(within: .seconds(10)) { rig.startedIDs == [job[0].jobID] })
        #expect(ContinuousClock.now - enqueued < .seconds(10))
    }

    @Test("a retry this worker schedules wakes the idle claimer when it falls due")
    func retryWakesTheClaimer() async throws {
        let rig = Rig(capacity: 4)
        let job = rig.store.add(1)[0]
        try await rig.queue.enqueue([job])
        // Claimed and handed back for a retry in 1 s, as the settle step does.
        let claim = try #require(try await rig.queue.claim(max: 1, lease: .seconds(30)).claims.first)
        let claiming = rig.run()
        defer { claiming.cancel() }
        try await Task.sleep(for: .milliseconds(200))
        try await rig.queue.finish(acknowledge: [], completed: [], requeue: [Requeue(claim: claim, delay: .seconds(1))])
        rig.wakeup.retryScheduled(in: .seconds(1))
        let scheduled = ContinuousClock.now
        // The claimer's wait began before the retry was scheduled: without the wake-up it would
        // sleep out its 30 s.
        #expect(await eventually(within: .seconds(15)) { rig.startedIDs == [job.jobID] })
        #expect(ContinuousClock.now - scheduled < .seconds(15))
    }

    @Test("rejected claims: a finished job is forgotten, a suspended team's job handed back until the team resumes")
    func rejectedClaims() async throws {
        let rig = Rig(capacity: 4)
        let finished = rig.store.add(1, team: "done")[0]
        let parked = rig.store.add(1, team: "paused")[0]
        rig.store.setStatus(finished.jobID, .cancelled)
        // The team is suspended in PostgreSQL; the queue learns of it a moment later (the API
        // writes PostgreSQL first), so meanwhile its job is claimed, refused and handed back.
        rig.store.setSuspended("paused", true)
        try await rig.queue.enqueue([finished, parked])
        let claiming = rig.run()
        defer { claiming.cancel() }
        #expect(await eventually { try await rig.queue.held([finished.jobID]).isEmpty })
        #expect(await eventually { rig.store.markCalls >= 2 })
        try await rig.queue.suspend(teamID: "paused")
        // Parked: still held, no longer handed out.
        try await Task.sleep(for: .milliseconds(200))
        let marks = rig.store.markCalls
        try await Task.sleep(for: .milliseconds(300))
        #expect(rig.store.markCalls - marks <= 1)
        #expect(try await rig.queue.held([parked.jobID]) == [parked.jobID])
        #expect(rig.startedIDs.isEmpty)
        // Resumed: the job runs.
        rig.store.setSuspended("paused", false)
        try await rig.queue.resume(teamID: "paused")
        #expect(await eventually { rig.startedIDs == [parked.jobID] })
    }

    @Test("claims PostgreSQL could not mark go back to the queue, and run once it recovers")
    func markFailure() async throws {
        let rig = Rig(capacity: 4)
        let job = rig.store.add(1)[0]
        rig.store.failNextMarks(1)
        try await rig.queue.enqueue([job])
        let claiming = rig.run()
        defer { claiming.cancel() }
        // Handed back with a delay of a second, claimed again, marked under the new token.
        #expect(await eventually(within: .seconds(15)) { rig.startedIDs == [job.jobID] })
        #expect(rig.store.markCalls == 2)
        #expect(rig.store.row(job.jobID)?.token == rig.started.withLock { $0.first?.claim.token })
    }

    @Test("cancelling the claimer ends it at once, even while it waits")
    func cancelWhileWaiting() async throws {
        let rig = Rig(capacity: 4)
        let claiming = rig.run()
        try await Task.sleep(for: .milliseconds(200))
        let cancelled = ContinuousClock.now
        claiming.cancel()
        await claiming.value
        #expect(ContinuousClock.now - cancelled < .seconds(5))
    }
}
