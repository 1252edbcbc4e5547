import Synchronization
import Testing

@testable import Shared

/// ``AddressLookupGate``: a process's host lookups are bounded in number and in the time a
/// caller waits, with a resolver that stays silent standing in for a nameserver that never
/// answers (no real DNS).
@Suite("Address lookups: at most N at once, each waited for at most its timeout")
struct AddressLookupGateTests {
    /// A resolver that answers only when released, counting the lookups it is running.
    final class SilentResolver: HostResolver {
        private let state = Mutex<(running: Int, most: Int, waiting: [CheckedContinuation<Void, Never>], open: Bool)>((0, 0, [], false))
        let addresses: [String]

        init(addresses: [String] = ["93.184.216.34"]) { self.addresses = addresses }

        var running: Int { state.withLock { $0.running } }
        var most: Int { state.withLock { $0.most } }

        func addresses(of host: String) async -> [String]? {
            await withCheckedContinuation { continuation in
                let open = state.withLock { state in
                    state.running += 1
                    state.most = max(state.most, state.running)
                    if state.open { return true }
                    state.waiting.append(continuation)
                    return false
                }
                if open { continuation.resume() }
            }
            state.withLock { $0.running -= 1 }
            return addresses
        }

        /// Answers every lookup, now and later.
        func release() {
            let waiting = state.withLock { state in
                state.open = true
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in waiting { continuation.resume() }
        }
    }

    static func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }

    @Test("past the bound a lookup is refused at once; a timed-out lookup keeps its place until it ends")
    func boundAndTimeout() async throws {
        let resolver = SilentResolver()
        let gate = AddressLookupGate(limit: 2, timeout: .milliseconds(300))
        let started = ContinuousClock.now
        async let first = gate.lookUp("a.example", with: resolver)
        async let second = gate.lookUp("b.example", with: resolver)
        try await Self.eventually { resolver.running == 2 }
        // Every place taken: refused without starting a third lookup.
        #expect(await gate.lookUp("c.example", with: resolver) == .busy)
        #expect(await first == .timedOut)
        #expect(await second == .timedOut)
        // Bounded, not timed: the silent lookups never return, so any answer at all shows the
        // timeout worked (a loaded CI machine once took 3.9 s to get here).
        #expect(ContinuousClock.now - started < .seconds(30))
        // Timed out, but the silent lookups still run and still hold their places.
        #expect(gate.count == 2)
        #expect(await gate.lookUp("d.example", with: resolver) == .busy)
        #expect(resolver.most == 2, "more lookups ran at once than the gate's limit")
        resolver.release()
        try await Self.eventually { gate.count == 0 }
        #expect(gate.count == 0)
        #expect(await gate.lookUp("e.example", with: resolver) == .addresses(["93.184.216.34"]))
        #expect(resolver.most == 2)
    }

    @Test("a flood of lookups at a silent resolver starts at most the limit")
    func flood() async throws {
        let resolver = SilentResolver()
        let gate = AddressLookupGate(limit: 8, timeout: .milliseconds(200))
        let outcomes = await withTaskGroup(of: AddressLookupGate.Outcome.self) { group in
            for index in 0..<100 { group.addTask { await gate.lookUp("h\(index).example", with: resolver) } }
            var outcomes: [AddressLookupGate.Outcome] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.count(where: { $0 == .timedOut }) == 8)
        #expect(outcomes.count(where: { $0 == .busy }) == 92)
        #expect(resolver.most == 8)
        resolver.release()
        try await Self.eventually { gate.count == 0 }
        #expect(gate.count == 0)
    }

    @Test("the policy: a busy lookup is AddressLookupBusy for the API, unresolvable for the sender")
    func policyWhenBusy() async throws {
        let resolver = SilentResolver(addresses: ["10.0.0.1"])
        let gate = AddressLookupGate(limit: 1, timeout: .milliseconds(100))
        let policy = WebhookTargetPolicy(production: true, resolver: resolver, lookups: gate)
        await #expect(throws: AddressLookupBusy(host: "hooks.example.com")) {
            try await policy.checkResolvedOrBusy("https://hooks.example.com/x")
        }
        await #expect(throws: WebhookTargetRefusal.unresolvable("hooks.example.com")) {
            try await policy.checkResolved("https://hooks.example.com/x")
        }
        resolver.release()
        try await Self.eventually { gate.count == 0 }
        // Answered: the resolver's private address is refused as before.
        await #expect(throws: WebhookTargetRefusal.privateAddress("10.0.0.1")) {
            try await policy.checkResolvedOrBusy("https://hooks.example.com/x")
        }
        // A numeric host needs no lookup, busy or not.
        try await policy.checkResolvedOrBusy("https://93.184.216.34/hook")
    }
}
