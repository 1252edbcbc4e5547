public import Foundation
import Synchronization

/// ``JobQueue`` in memory, with the rules of ``RedisJobQueue``'s scripts (``QueueScripts``): the
/// pieces built on the queue — the worker's claim, lease and settle steps — are tested on it
/// without a Redis, and `QueueTests` runs one set of behaviour tests against both drivers, so
/// what is proven here holds there.
///
/// The rules: a team's jobs go out by priority, then arrival; teams with ready jobs take turns
/// (round robin); a claimed job is leased under a fresh token, and only that token renews,
/// acknowledges or requeues it; a job is held once, whatever its state, until it is forgotten;
/// a suspended team's jobs stay held but parked. Times are wall-clock milliseconds, as Redis's
/// `TIME` is in the scripts.
///
/// One process only: nothing here survives it, or reaches another.
public actor MemoryJobQueue: JobQueue {
    /// What `p:jobs` holds of a job: enough to order it.
    private struct Held {
        var priority: Int
        var teamID: String
    }

    /// A ready job's place in its team's line: `(9 - priority, arrival)`, as the scripts' score.
    private struct Place: Comparable {
        var rank: Int
        var arrival: Int

        static func < (lhs: Place, rhs: Place) -> Bool {
            (lhs.rank, lhs.arrival) < (rhs.rank, rhs.arrival)
        }
    }

    private var jobs: [UUID: Held] = [:]
    /// Each team's ready jobs, in claim order.
    private var ready: [String: [(place: Place, jobID: UUID)]] = [:]
    /// Where each ready job is, to take it out of its line.
    private var readyPlaces: [UUID: (teamID: String, place: Place)] = [:]
    /// Teams with ready jobs, rotated by claims; `active` mirrors it so a team is listed once.
    private var teams: [String] = []
    private var active: Set<String> = []
    private var suspended: Set<String> = []
    /// When a team was last suspended or resumed through the queue (ms).
    private var suspendedChanged: [String: Int] = [:]
    private var tokens: [UUID: UUID] = [:]
    /// Lease expiries (ms).
    private var leases: [UUID: Int] = [:]
    /// When scheduled retries fall due (ms). (The scripts also count them per team in
    /// `p:scheduled:teams`; here ``waitingCount(teamID:)`` counts them when asked.)
    private var scheduled: [UUID: Int] = [:]
    /// Each team's leased jobs, job → lease expiry (ms), as `p:leased:<team>`.
    private var leasedByTeam: [String: [UUID: Int]] = [:]
    /// `max_concurrent_jobs` by team, and the capped teams at their cap (out of the rotation).
    private var caps: [String: Int] = [:]
    private var capped: Set<String> = []
    private var arrivals = 0
    private var marker: (epoch: String?, watermark: Int?) = (nil, nil)
    /// The fleet-wide pause, as `p:pause`: whether claims lease nothing, and since when (ms).
    private var pause: (paused: Bool, since: Int?) = (false, nil)
    private var workWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter = 0
    private let completionFeed = Feed<UUID>()
    private let cancellationFeed = Feed<UUID>()
    private let pauseFeed = Feed<Bool>()
    private let clock: @Sendable () -> Date

    /// `clock` is the wall clock by default.
    public init(clock: @escaping @Sendable () -> Date = { Date() }) {
        self.clock = clock
    }

    // MARK: The verbs

    @discardableResult
    public func enqueue(_ queued: [QueuedJob]) async throws -> Int {
        let now = nowMS()
        var count = 0
        for job in queued {
            let due = job.retryAt.map(\.queueMilliseconds) ?? 0
            if jobs[job.jobID] == nil {
                jobs[job.jobID] = Held(priority: Self.clamp(job.priority), teamID: job.teamID)
                readyOrScheduled(job.jobID, due: due, now: now)
                count += 1
            } else if let expiry = leases[job.jobID], expiry < now {
                // A lease that expired before its worker marked the job: taken back.
                unlease(job.jobID)
                readyOrScheduled(job.jobID, due: due, now: now)
                count += 1
            }
        }
        return count
    }

    public func claim(max: Int, lease: Duration) async throws -> ClaimResult {
        if pause.paused { return ClaimResult(claims: [], nextRetryDue: nil, paused: true) }
        let now = nowMS()
        let due = scheduled.filter { $0.value <= now }
            .sorted { ($0.value, $0.key.lowercasedString) < ($1.value, $1.key.lowercasedString) }
            .prefix(1000)
        for (jobID, _) in due {
            scheduled[jobID] = nil
            makeReady(jobID)
        }
        var claims: [Claim] = []
        var turns = max + teams.count + 1
        while claims.count < max && turns > 0, let team = teams.first {
            turns -= 1
            teams.append(teams.removeFirst())
            if suspended.contains(team) {
                deactivate(team)
                continue
            }
            if atCap(team) {
                recap(team)
                continue
            }
            if let jobID = popReady(team) {
                let claim = Claim(jobID: jobID, token: UUID.random())
                tokens[jobID] = claim.token
                leases[jobID] = now + lease.milliseconds
                leasedByTeam[team, default: [:]][jobID] = now + lease.milliseconds
                claims.append(claim)
                if atCap(team) { recap(team) }
            }
            if ready[team, default: []].isEmpty { deactivate(team) }
        }
        let next = scheduled.values.min().map { Duration.milliseconds(Swift.max(0, $0 - now)) }
        return ClaimResult(claims: claims, nextRetryDue: next)
    }

    public func renew(_ claims: [Claim], lease: Duration) async throws -> Set<UUID> {
        let now = nowMS()
        var lost: Set<UUID> = []
        for claim in claims {
            if tokens[claim.jobID] == claim.token {
                leases[claim.jobID] = now + lease.milliseconds
                if let team = jobs[claim.jobID]?.teamID, leasedByTeam[team]?[claim.jobID] != nil {
                    leasedByTeam[team]?[claim.jobID] = now + lease.milliseconds
                }
            } else {
                lost.insert(claim.jobID)
            }
        }
        return lost
    }

    public func finish(acknowledge claims: [Claim], completed: [UUID], requeue requeues: [Requeue]) async throws {
        let now = nowMS()
        for claim in claims where tokens[claim.jobID] == claim.token {
            forget(claim.jobID)
        }
        for requeue in requeues where tokens[requeue.claim.jobID] == requeue.claim.token {
            let jobID = requeue.claim.jobID
            unlease(jobID)
            let delay = requeue.delay.milliseconds
            if delay > 0 {
                scheduled[jobID] = now + delay
            } else {
                makeReady(jobID)
            }
        }
        completionFeed.yield(completed)
    }

    public func remove(_ jobIDs: [UUID], completed: [UUID]) async throws {
        for jobID in jobIDs { forget(jobID) }
        completionFeed.yield(completed)
    }

    public func reset(_ queued: [QueuedJob]) async throws {
        for job in queued {
            forget(job.jobID)
            jobs[job.jobID] = Held(priority: Self.clamp(job.priority), teamID: job.teamID)
            makeReady(job.jobID)
        }
    }

    public func suspend(teamID: String) async throws {
        suspendedChanged[teamID] = nowMS()
        suspended.insert(teamID)
        deactivate(teamID)
    }

    public func resume(teamID: String) async throws {
        suspendedChanged[teamID] = nowMS()
        suspended.remove(teamID)
        if !ready[teamID, default: []].isEmpty { activate(teamID) }
    }

    public func held(_ jobIDs: [UUID]) async throws -> Set<UUID> {
        Set(jobIDs.filter { jobs[$0] != nil })
    }

    public func setConcurrencyCap(teamID: String, cap: Int?) async throws {
        if let cap, cap > 0 { caps[teamID] = cap } else { caps[teamID] = nil }
        recap(teamID)
    }

    public func waitingCount(teamID: String) async throws -> Int {
        ready[teamID, default: []].count + scheduled.keys.filter { jobs[$0]?.teamID == teamID }.count
    }

    @discardableResult
    public func reconcileConcurrencyCaps(_ wanted: [String: Int]) async throws -> Int {
        let wanted = wanted.filter { $0.value > 0 }
        var changed = 0
        for team in caps.keys.sorted() where wanted[team] == nil {
            caps[team] = nil
            recap(team)
            changed += 1
        }
        for (team, cap) in wanted.sorted(by: { $0.key < $1.key }) {
            if caps[team] != cap {
                caps[team] = cap
                changed += 1
            }
            recap(team)
        }
        for team in capped.sorted() { recap(team) }
        return changed
    }

    @discardableResult
    public func reconcileSuspended(_ suspendedTeams: [String], grace: Duration) async throws -> (parked: Int, unparked: Int) {
        let now = nowMS()
        let since = now - Swift.max(0, grace.milliseconds)
        var fresh: Set<String> = []
        for (team, stamp) in suspendedChanged {
            if stamp >= since { fresh.insert(team) } else { suspendedChanged[team] = nil }
        }
        let wanted = Set(suspendedTeams)
        var parked = 0
        var unparked = 0
        for team in suspendedTeams where !fresh.contains(team) && suspended.insert(team).inserted {
            deactivate(team)
            parked += 1
        }
        for team in suspended where !wanted.contains(team) && !fresh.contains(team) {
            suspended.remove(team)
            if !ready[team, default: []].isEmpty { activate(team) }
            unparked += 1
        }
        return (parked, unparked)
    }

    public func expiredLeases(olderThan grace: Duration, offset: Int, limit: Int) async throws -> [UUID] {
        let before = nowMS() - Swift.max(0, grace.milliseconds)
        return leases.filter { $0.value < before }
            .sorted { ($0.value, $0.key.lowercasedString) < ($1.value, $1.key.lowercasedString) }
            .dropFirst(Swift.max(0, offset)).prefix(Swift.max(1, limit)).map(\.key)
    }

    public func sweepMarker() async throws -> SweepMarker {
        currentMarker
    }

    public func beginFullReenqueue() async throws -> SweepMarker {
        marker = (UUID.random().lowercasedString, nil)
        return currentMarker
    }

    @discardableResult
    public func advanceSweepMarker(epoch: String, watermark: Date) async throws -> Bool {
        let milliseconds = watermark.queueMilliseconds
        if marker.epoch == epoch { marker.watermark = milliseconds }
        return marker.watermark == milliseconds
    }

    public func publishCancel(_ jobID: UUID) async throws {
        cancellationFeed.yield([jobID])
    }

    @discardableResult
    public func setPaused(_ paused: Bool) async throws -> QueuePause {
        let changed = pause.paused != paused
        if changed || pause.since == nil { pause = (paused, nowMS()) }
        pauseFeed.yield([paused])
        return QueuePause(paused: pause.paused, since: pause.since.map(Date.init(queueMilliseconds:)), changed: changed)
    }

    public func reconcilePause(_ paused: Bool, grace: Duration) async throws -> Bool {
        guard pause.paused != paused else { return false }
        if let since = pause.since, nowMS() - since < Int(grace.milliseconds) { return false }
        pause = (paused, nowMS())
        pauseFeed.yield([paused])
        return true
    }

    public func pauseState() async throws -> QueuePause {
        QueuePause(paused: pause.paused, since: pause.since.map(Date.init(queueMilliseconds:)))
    }

    public nonisolated func pauseChanges() -> AsyncStream<Bool> {
        pauseFeed.subscribe()
    }

    // MARK: Waiting and announcements

    /// Returns at once while some team is listed (as `BLMOVE` does, even when the listed team
    /// turns out to have nothing ready), else when a team is listed or `timeout` passes.
    public func waitForWork(timeout: Duration) async throws {
        try Task.checkCancellation()
        guard teams.isEmpty else { return }
        nextWaiter += 1
        let id = nextWaiter
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            endWait(id)
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                workWaiters[id] = continuation
            }
        } onCancel: {
            Task { await self.endWait(id) }
        }
        try Task.checkCancellation()
    }

    public nonisolated func completions() -> AsyncStream<UUID> {
        completionFeed.subscribe()
    }

    public nonisolated func cancellations() -> AsyncStream<UUID> {
        cancellationFeed.subscribe()
    }

    // MARK: What tests set up that the verbs cannot (for Redis, written to its keys directly)

    /// Moves a lease's expiry, as if it had been taken at another time.
    func setLeaseExpiry(_ jobID: UUID, to date: Date) {
        if leases[jobID] != nil { leases[jobID] = date.queueMilliseconds }
    }

    /// Parks a team without the record of when, as a Redis that kept a suspension but lost its
    /// resume holds it.
    func parkWithoutRecord(_ teamID: String) {
        suspended.insert(teamID)
    }

    /// Forgets everything, as a Redis that lost its data.
    func loseData() {
        jobs = [:]
        ready = [:]
        readyPlaces = [:]
        teams = []
        active = []
        suspended = []
        suspendedChanged = [:]
        tokens = [:]
        leases = [:]
        scheduled = [:]
        leasedByTeam = [:]
        caps = [:]
        capped = []
        arrivals = 0
        marker = (nil, nil)
        pause = (false, nil)
    }

    // MARK: The scripts' helpers

    private func nowMS() -> Int {
        clock().queueMilliseconds
    }

    private var currentMarker: SweepMarker {
        SweepMarker(epoch: marker.epoch, watermark: marker.watermark.map { Date(timeIntervalSince1970: Double($0) / 1000) })
    }

    private func activate(_ team: String) {
        guard !suspended.contains(team), !capped.contains(team), active.insert(team).inserted else { return }
        teams.append(team)
        let waiters = workWaiters
        workWaiters = [:]
        for waiter in waiters.values { waiter.resume() }
    }

    private func deactivate(_ team: String) {
        if let index = teams.lastIndex(of: team) { teams.remove(at: index) }
        active.remove(team)
    }

    /// Puts a held job in its team's line, behind the jobs of its priority that arrived before.
    private func makeReady(_ jobID: UUID) {
        guard let job = jobs[jobID] else { return }
        takeOutOfLine(jobID)
        arrivals += 1
        let place = Place(rank: 9 - job.priority, arrival: arrivals)
        var line = ready[job.teamID, default: []]
        let index = line.firstIndex { place < $0.place } ?? line.endIndex
        line.insert((place, jobID), at: index)
        ready[job.teamID] = line
        readyPlaces[jobID] = (job.teamID, place)
        activate(job.teamID)
    }

    private func popReady(_ team: String) -> UUID? {
        guard var line = ready[team], !line.isEmpty else { return nil }
        let jobID = line.removeFirst().jobID
        ready[team] = line.isEmpty ? nil : line
        readyPlaces[jobID] = nil
        return jobID
    }

    private func takeOutOfLine(_ jobID: UUID) {
        guard let (team, _) = readyPlaces.removeValue(forKey: jobID) else { return }
        ready[team]?.removeAll { $0.jobID == jobID }
        if ready[team]?.isEmpty == true { ready[team] = nil }
    }

    /// Every lease ends here: the team's slot is given back (and a capped team rejoins).
    private func unlease(_ jobID: UUID) {
        tokens[jobID] = nil
        leases[jobID] = nil
        guard let team = jobs[jobID]?.teamID, leasedByTeam[team]?.removeValue(forKey: jobID) != nil else { return }
        if leasedByTeam[team]?.isEmpty == true { leasedByTeam[team] = nil }
        if capped.contains(team) { recap(team) }
    }

    private func atCap(_ team: String) -> Bool {
        guard let cap = caps[team] else { return false }
        return leasedByTeam[team, default: [:]].count >= cap
    }

    /// A team at its cap leaves the rotation; one below it that had left comes back.
    private func recap(_ team: String) {
        if atCap(team) {
            capped.insert(team)
            deactivate(team)
        } else if capped.remove(team) != nil, !ready[team, default: []].isEmpty {
            activate(team)
        }
    }

    private func readyOrScheduled(_ jobID: UUID, due: Int, now: Int) {
        if due > now {
            scheduled[jobID] = due
        } else {
            makeReady(jobID)
        }
    }

    /// Out of every state: ready, scheduled, leased, held. (A team left listed without ready
    /// jobs is delisted by the next claim that reaches it, as in the scripts.)
    private func forget(_ jobID: UUID) {
        takeOutOfLine(jobID)
        scheduled[jobID] = nil
        unlease(jobID)
        jobs[jobID] = nil
    }

    private func endWait(_ id: Int) {
        workWaiters.removeValue(forKey: id)?.resume()
    }

    private static func clamp(_ priority: Int) -> Int { min(9, max(0, priority)) }
}

/// A broadcast to every live subscriber, as a pub/sub channel is: elements published with no
/// subscriber are gone.
private final class Feed<Element: Sendable>: Sendable {
    private struct State {
        var next = 0
        var subscribers: [Int: AsyncStream<Element>.Continuation] = [:]
    }

    private let state = Mutex(State())

    func subscribe() -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(of: Element.self, bufferingPolicy: .bufferingNewest(10_000))
        let id = state.withLock { state in
            state.next += 1
            state.subscribers[state.next] = continuation
            return state.next
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    func yield(_ elements: [Element]) {
        guard !elements.isEmpty else { return }
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers {
            for element in elements { subscriber.yield(element) }
        }
    }
}
