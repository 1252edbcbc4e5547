import Foundation
import Synchronization
import Testing

@testable import Shared

/// The cache behind the API's key and model-access caches and the worker's routing: expiry by a
/// clock the tests move by hand (no sleeps to race on a loaded machine), and single flight.
@Suite("ExpiringCache: expiry, remembered misses, single flight")
struct ExpiringCacheTests {
    /// A clock that moves only when told to.
    final class ManualClock: Sendable {
        private let start = ContinuousClock.now
        private let offset = Mutex(Duration.zero)

        func now() -> ContinuousClock.Instant { start + offset.withLock { $0 } }
        func advance(by duration: Duration) { offset.withLock { $0 += duration } }
    }

    /// A load that stays in flight until released, counting how often it ran.
    final class GatedLoad: Sendable {
        private let state = Mutex((runs: 0, released: false))

        var runs: Int { state.withLock { $0.runs } }
        func release() { state.withLock { $0.released = true } }

        func run<T: Sendable>(returning value: T) async throws -> T {
            state.withLock { $0.runs += 1 }
            while !state.withLock({ $0.released }) { try await Task.sleep(for: .milliseconds(2)) }
            return value
        }
    }

    final class Counts: Sendable {
        let counts = Mutex([Int: Int]())
    }

    struct LoadFailed: Error {}

    /// `callers` concurrent calls to `call`, each started and given time to reach the cache
    /// before `load` is released; returns their answers.
    static func concurrently<T: Sendable>(
        _ callers: Int,
        release load: GatedLoad,
        _ call: @escaping @Sendable () async throws -> T
    ) async -> [Result<T, any Error>] {
        await withTaskGroup(of: Result<T, any Error>.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    do { return .success(try await call()) } catch { return .failure(error) }
                }
            }
            // Every caller has either joined the load by now or will find its answer kept: the
            // clock does not move, so a straggler cannot cause a second load either way.
            while load.runs == 0 { try? await Task.sleep(for: .milliseconds(2)) }
            try? await Task.sleep(for: .milliseconds(100))
            load.release()
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test("N concurrent misses for one key cause exactly one load, and all get its value")
    func singleFlight() async throws {
        let clock = ManualClock()
        let cache = ExpiringCache<String, Int>(timeToLive: .seconds(1), now: clock.now)
        let load = GatedLoad()
        let answers = await Self.concurrently(200, release: load) {
            try await cache.value(for: "k") { try await load.run(returning: 42) }
        }
        #expect(load.runs == 1)
        #expect(answers.count == 200)
        #expect(answers.allSatisfy { (try? $0.get()) == 42 })
        #expect(cache.cached("k") == .some(42))
    }

    @Test("an entry that expires under load is reloaded once, not once per caller")
    func expiryUnderLoadReloadsOnce() async throws {
        let clock = ManualClock()
        let cache = ExpiringCache<String, Int>(timeToLive: .seconds(1), now: clock.now)
        _ = try await cache.value(for: "k") { 1 }
        clock.advance(by: .milliseconds(1001))
        #expect(cache.cached("k") == nil)
        let load = GatedLoad()
        let answers = await Self.concurrently(100, release: load) {
            try await cache.value(for: "k") { try await load.run(returning: 2) }
        }
        #expect(load.runs == 1)
        #expect(answers.allSatisfy { (try? $0.get()) == 2 })
    }

    @Test("concurrent misses of different keys load each key once")
    func perKey() async throws {
        let cache = ExpiringCache<Int, Int>(timeToLive: .seconds(60))
        let loads = Counts()
        await withTaskGroup(of: Void.self) { group in
            for caller in 0..<200 {
                group.addTask {
                    let key = caller % 4
                    let value = try? await cache.value(for: key) {
                        loads.counts.withLock { $0[key, default: 0] += 1 }
                        try await Task.sleep(for: .milliseconds(50))
                        return key * 10
                    }
                    #expect(value == key * 10)
                }
            }
        }
        // A caller that arrives after its key's load finished finds the value kept.
        #expect(loads.counts.withLock { $0 } == [0: 1, 1: 1, 2: 1, 3: 1])
    }

    @Test("a value is kept for its time to live, then loaded again")
    func expiry() async throws {
        let clock = ManualClock()
        let cache = ExpiringCache<String, String>(timeToLive: .milliseconds(500), now: clock.now)
        let loads = Mutex(0)
        let load: @Sendable () async throws -> String = {
            let count = loads.withLock { loads in
                loads += 1
                return loads
            }
            return "v\(count)"
        }
        #expect(try await cache.value(for: "k", load: load) == "v1")
        clock.advance(by: .milliseconds(499))
        #expect(try await cache.value(for: "k", load: load) == "v1")
        #expect(cache.cached("k") == .some("v1"))
        clock.advance(by: .milliseconds(1))
        #expect(cache.cached("k") == nil)
        #expect(try await cache.value(for: "k", load: load) == "v2")
        #expect(loads.withLock { $0 } == 2)
    }

    @Test("a failed load is shared by its callers and not kept")
    func failedLoad() async throws {
        let cache = ExpiringCache<String, Int>(timeToLive: .seconds(60))
        let load = GatedLoad()
        let answers = await Self.concurrently(50, release: load) {
            try await cache.value(for: "k") {
                _ = try await load.run(returning: 0)
                throw LoadFailed()
            }
        }
        #expect(load.runs == 1)
        #expect(answers.allSatisfy { if case .failure(let error) = $0 { error is LoadFailed } else { false } })
        #expect(cache.cached("k") == nil)
        #expect(try await cache.value(for: "k") { 7 } == 7)
    }

    @Test("misses are remembered for their own time to live, and not at all without one")
    func misses() async throws {
        let clock = ManualClock()
        let cache = ExpiringCache<String, Int>(timeToLive: .milliseconds(500), missTimeToLive: .seconds(5), now: clock.now)
        let loads = Mutex(0)
        let missing: @Sendable () async throws -> Int? = {
            loads.withLock { $0 += 1 }
            return nil
        }
        #expect(try await cache.valueIfPresent(for: "k", load: missing) == nil)
        #expect(cache.cached("k") == .some(nil))
        clock.advance(by: .seconds(4))
        #expect(try await cache.valueIfPresent(for: "k", load: missing) == nil)
        #expect(loads.withLock { $0 } == 1)
        clock.advance(by: .seconds(1))
        #expect(cache.cached("k") == nil)
        // The key now exists: its value replaces the miss.
        #expect(try await cache.valueIfPresent(for: "k") { 3 } == 3)
        #expect(cache.cached("k") == .some(3))

        let forgetful = ExpiringCache<String, Int>(timeToLive: .seconds(60))
        #expect(try await forgetful.valueIfPresent(for: "k", load: missing) == nil)
        #expect(forgetful.cached("k") == nil)
    }

    @Test("a flood of misses stays within its own capacity and never pushes values out")
    func missFlood() async throws {
        let cache = ExpiringCache<Int, Int>(timeToLive: .seconds(60), capacity: 10, missTimeToLive: .seconds(60), missCapacity: 100)
        for key in 0..<10 { cache.store(key, for: key) }
        for key in 1000..<5000 { #expect(try await cache.valueIfPresent(for: key) { nil } == nil) }
        for key in 0..<10 { #expect(cache.cached(key) == .some(key)) }
        let remembered = (1000..<5000).filter { cache.cached($0) != nil }.count
        #expect(remembered > 0 && remembered <= 100)
        // The latest miss is always kept.
        #expect(cache.cached(4999) == .some(nil))
    }

    @Test("values past capacity: expired ones go first, then half, and the new one is kept")
    func capacity() async throws {
        let clock = ManualClock()
        let cache = ExpiringCache<Int, Int>(timeToLive: .seconds(1), capacity: 10, now: clock.now)
        for key in 0..<5 { cache.store(key, for: key) }
        clock.advance(by: .seconds(2))
        for key in 5..<16 { cache.store(key, for: key) }
        // The five expired entries made room when the cache first filled up; when it was full
        // again, of live entries only, half of them went.
        let live = (0..<16).filter { cache.cached($0) != nil }
        #expect(live.count < 10)
        #expect(live.contains(15))
        #expect((0..<5).allSatisfy { cache.cached($0) == nil })
    }

    @Test("remove detaches a load under way: its callers get its answer, nobody keeps it, later callers load anew")
    func removeDetachesLoad() async throws {
        let cache = ExpiringCache<String, Int>(timeToLive: .seconds(60), missTimeToLive: .seconds(60))
        // The load reads before a change and answers after it (a key minted meanwhile).
        #expect(
            try await cache.valueIfPresent(for: "k") {
                cache.remove("k")
                return nil
            } == nil
        )
        #expect(cache.cached("k") == nil)
        #expect(try await cache.valueIfPresent(for: "k") { 5 } == 5)
        cache.remove("k")
        #expect(cache.cached("k") == nil)
        #expect(try await cache.value(for: "k") { 6 } == 6)
    }
}
