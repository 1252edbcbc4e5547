import Foundation
import Logging
import Shared
import Synchronization

/// Upstream manners, per provider and per provider+model:
/// - a **circuit breaker** per provider: after repeated failures (or at once for a bad key or an
///   exhausted quota) it stops calling the provider for a cool-down, so jobs use their fallbacks;
///   then one probe call decides whether it closes again;
/// - a **cool-down** per provider+model after a 429 (or when the rate-limit headers say nothing is
///   left), shared with every worker by pub/sub, so no worker hammers a limited upstream;
/// - a **requests-per-minute budget** per provider+model when the provider has `rpm`, leased from
///   Redis in blocks so that a call does not cost a Redis round trip.
/// A job whose models are all cooling down goes back to the queue until the earliest is ready,
/// and the worker claims other work meanwhile.
final class ProviderHealth: Sendable {
    enum Admission: Sendable, Equatable {
        case go
        /// The breaker is half-open: this call is its probe.
        case probe
        case wait(Duration)
    }

    private enum Circuit {
        case closed(failures: Int)
        case open(until: ContinuousClock.Instant)
        /// The open period is over: one call may probe the provider. `probeUntil` is set while a
        /// probe is out; past it the probe counts as lost and another may go, so a probe whose
        /// outcome never comes back (a cancel, a crash, a document that made no call) cannot
        /// leave the provider closed to this worker for good.
        case halfOpen(probeUntil: ContinuousClock.Instant?)

        /// `saas_provider_circuit_state`'s value.
        var gaugeValue: Int {
            switch self {
            case .closed: CircuitGauges.closed
            case .halfOpen: CircuitGauges.halfOpen
            case .open: CircuitGauges.open
            }
        }
    }

    private struct Budget {
        /// The window (second or minute) the requests belong to.
        var minute: Int
        var left: Int
    }

    private let circuits = Mutex<[String: Circuit]>([:])
    private let cooldowns = Mutex<[String: ContinuousClock.Instant]>([:])
    private let budgets = Mutex<[String: Budget]>([:])
    private let board: ProviderHealthBoard
    private let audit: any AuditStore
    private let failureThreshold: Int
    private let openFor: Duration
    private let logger: Logger
    private let gauges: CircuitGauges

    init(
        board: ProviderHealthBoard,
        audit: any AuditStore,
        failureThreshold: Int = 5,
        openFor: Duration = .seconds(30),
        logger: Logger,
        gauges: CircuitGauges = CircuitGauges()
    ) {
        self.board = board
        self.audit = audit
        self.failureThreshold = failureThreshold
        self.openFor = openFor
        self.logger = logger
        self.gauges = gauges
    }

    /// Every change of a circuit goes through here: its gauge follows the state, set under the
    /// same lock (so two changes are never recorded in the other order) and only when it moved.
    private func withCircuit<T: Sendable>(of provider: String, _ body: (inout [String: Circuit]) -> T) -> T {
        circuits.withLock { circuits in
            let before = circuits[provider]?.gaugeValue ?? CircuitGauges.closed
            let result = body(&circuits)
            let after = circuits[provider]?.gaugeValue ?? CircuitGauges.closed
            if after != before { gauges.record(provider: provider, state: after) }
            return result
        }
    }

    /// May this worker call `model` at `provider` now, for a request of about `tokens` tokens?
    /// A `.probe` must be answered by ``record(provider:model:failure:rateLimitExhausted:)`` or
    /// ``releaseProbe(provider:)``; if neither comes within `probeDeadline`, the probe is lost.
    func admit(
        provider: String,
        model: String,
        rpm: Int?,
        tpm: Int? = nil,
        tokens: Int = 0,
        probeDeadline: Duration = .seconds(120)
    ) async -> Admission {
        let now = ContinuousClock.now
        if let until = cooldowns.withLock({ $0[Self.key(provider, model)] }), until > now {
            return .wait(until - now)
        }
        let circuit: Admission = withCircuit(of: provider) { circuits in
            switch circuits[provider] ?? .closed(failures: 0) {
            case .closed:
                return .go
            case .open(let until):
                guard until <= now else { return .wait(until - now) }
                circuits[provider] = .halfOpen(probeUntil: now + probeDeadline)
                return .probe
            case .halfOpen(let probeUntil):
                if let probeUntil, probeUntil > now { return .wait(min(.seconds(1), probeUntil - now)) }
                circuits[provider] = .halfOpen(probeUntil: now + probeDeadline)
                return .probe
            }
        }
        guard circuit == .go else { return circuit }
        if let rpm {
            let requests = await spend(Self.key(provider, model) + "|requests", units: 1, perMinute: rpm, provider: provider, model: model)
            guard requests == .go else { return requests }
        }
        if let tpm, tokens > 0 {
            return await spend(Self.key(provider, model) + "|tokens", units: tokens, perMinute: tpm, provider: provider, model: model)
        }
        return .go
    }

    /// Learns from a call's outcome.
    func record(provider: String, model: String, failure: UpstreamFailure?, rateLimitExhausted: Duration? = nil) async {
        guard let failure else {
            let reopened = withCircuit(of: provider) { circuits -> Bool in
                defer { circuits[provider] = .closed(failures: 0) }
                if case .halfOpen = circuits[provider] { return true }
                return false
            }
            if reopened { await post(provider, ProviderHealthReport(state: "closed", lastError: nil, lastErrorAt: nil, openUntil: nil)) }
            if let wait = rateLimitExhausted { await coolDown(provider: provider, model: model, for: wait, announce: true) }
            return
        }
        switch failure.kind {
        case .rateLimited, .invalidRequest, .contextTooLong:
            // The provider answered, and coherently: a probe that got this far closes the
            // circuit (the request or the rate was the trouble, not the provider).
            let probed = withCircuit(of: provider) { circuits -> Bool in
                guard case .halfOpen = circuits[provider] else { return false }
                circuits[provider] = .closed(failures: 0)
                return true
            }
            if probed { await post(provider, ProviderHealthReport(state: "closed", lastError: nil, lastErrorAt: nil, openUntil: nil)) }
            if failure.kind == .rateLimited {
                await coolDown(provider: provider, model: model, for: failure.retryAfter ?? .seconds(5), announce: true)
            }
        case .transient, .badCredentials, .quotaExhausted:
            let immediate = failure.kind != .transient
            let opened: ContinuousClock.Instant? = withCircuit(of: provider) { circuits in
                let now = ContinuousClock.now
                let cooldown = openFor
                switch circuits[provider] ?? .closed(failures: 0) {
                case .closed(let failures):
                    if immediate || failures + 1 >= failureThreshold {
                        circuits[provider] = .open(until: now + cooldown)
                        return now + cooldown
                    }
                    circuits[provider] = .closed(failures: failures + 1)
                    return nil
                case .halfOpen:
                    circuits[provider] = .open(until: now + cooldown)
                    return now + cooldown
                case .open:
                    return nil
                }
            }
            if let opened {
                let seconds = Double((opened - ContinuousClock.now).milliseconds) / 1000
                logger.warning("circuit opened", metadata: ["provider": "\(provider)", "reason": "\(failure.kind.rawValue)"])
                await post(
                    provider,
                    ProviderHealthReport(
                        state: "open",
                        lastError: "\(failure.kind.rawValue): \(failure.message)",
                        lastErrorAt: Date(),
                        openUntil: Date().addingTimeInterval(seconds)
                    )
                )
                if immediate {
                    // An admin-visible event: the provider's key or quota needs a person.
                    try? await audit.record(
                        actor: "worker",
                        action: "provider.unhealthy",
                        target: "provider=\(provider)",
                        outcome: failure.kind.rawValue,
                        details: ["message": .string(String(failure.message.prefix(300)))]
                    )
                }
            }
        }
    }

    /// A probe admitted by ``admit(provider:model:rpm:tpm:tokens:probeDeadline:)`` that made no
    /// call with an outcome (cancelled, or a document whose steps were all kept): the next call
    /// may probe at once.
    func releaseProbe(provider: String) {
        withCircuit(of: provider) { circuits in
            if case .halfOpen(let probeUntil?) = circuits[provider], probeUntil > .now {
                circuits[provider] = .halfOpen(probeUntil: nil)
            }
        }
    }

    /// A cool-down another worker announced.
    func applyAnnouncement(_ payload: String) {
        let parts = payload.split(separator: "|").map(String.init)
        guard parts.count == 3, let ms = Int(parts[2]) else { return }
        // Another worker's word, bounded like an upstream's: at most the longest wait allowed.
        let until = ContinuousClock.now + .milliseconds(min(max(0, ms), UpstreamNumbers.maxWait.milliseconds))
        cooldowns.withLock { cooldowns in
            let key = Self.key(parts[0], parts[1])
            if (cooldowns[key] ?? .now) < until { cooldowns[key] = until }
        }
    }

    private func coolDown(provider: String, model: String, for duration: Duration, announce: Bool) async {
        let duration = min(max(.zero, duration), UpstreamNumbers.maxWait)
        let until = ContinuousClock.now + duration
        cooldowns.withLock { $0[Self.key(provider, model)] = until }
        if announce { try? await board.announceCooldown(provider: provider, model: model, duration: duration) }
    }

    /// Spends `units` (one request, or a request's estimated tokens) of a provider+model's
    /// budget. Budgets are kept per second (a sixtieth of the per-minute limit each) so that calls
    /// spread over the minute instead of bursting at its start; a limit under 60 a minute is kept
    /// per minute. Units are leased from Redis in blocks shared by all workers, so most calls
    /// spend from the local block without a round trip.
    private func spend(_ key: String, units: Int, perMinute: Int, provider: String, model: String) async -> Admission {
        let window = perMinute >= 60 ? 1 : 60
        let limit = max(1, perMinute * window / 60)
        let needed = min(max(1, units), limit)
        let now = Date().timeIntervalSince1970
        let slot = Int(now) / window
        let spent = budgets.withLock { budgets -> Bool in
            guard var budget = budgets[key], budget.minute == slot, budget.left >= needed else { return false }
            budget.left -= needed
            budgets[key] = budget
            return true
        }
        if spent { return .go }
        let block = min(limit, max(needed, min(limit / 4, needed * 50)))
        let granted = (try? await board.leaseRequests(provider: provider, model: key, limit: limit, block: block, minute: slot)) ?? block
        budgets.withLock { budgets in
            // Concurrent callers may have leased too: keep every grant of this window.
            if var budget = budgets[key], budget.minute == slot {
                budget.left += granted
                budgets[key] = budget
            } else {
                budgets[key] = Budget(minute: slot, left: granted)
            }
        }
        let taken = budgets.withLock { budgets -> Bool in
            guard var budget = budgets[key], budget.minute == slot, budget.left >= needed else { return false }
            budget.left -= needed
            budgets[key] = budget
            return true
        }
        if taken { return .go }
        let next = Double(slot + 1) * Double(window) - now
        return .wait(.milliseconds(Int64(max(0.01, next) * 1000)))
    }

    private func post(_ provider: String, _ report: ProviderHealthReport) async {
        do { try await board.post(provider, report) } catch { logger.warning("cannot post provider health", metadata: ["error": "\(error)"]) }
    }

    private static func key(_ provider: String, _ model: String) -> String { "\(provider)|\(model)" }
}
