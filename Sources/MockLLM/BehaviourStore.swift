import Synchronization

/// The current behaviour and the call counter its failure pattern runs on.
///
/// Shared by every request handler; one lock held for a few instructions per call is far below
/// what the benchmarks can measure, and keeps "call n" exact under any concurrency.
final class BehaviourStore: Sendable {
    private struct State {
        var behaviour: MockBehaviour
        /// Calls that reached the simulated model since the behaviour last changed.
        var calls = 0
        /// Of those, the ones that got the failure mode.
        var failures = 0
        /// `json_schema` answers made to break their schema since the behaviour last changed.
        var schemaViolations = 0
    }

    /// The behaviour given at start, which `POST /_mock/reset` restores.
    let initial: MockBehaviour
    private let state: Mutex<State>

    init(_ initial: MockBehaviour) {
        self.initial = initial
        self.state = Mutex(State(behaviour: initial))
    }

    var current: MockBehaviour {
        self.state.withLock { $0.behaviour }
    }

    /// Calls and injected failures since the behaviour last changed.
    var counters: (calls: Int, failures: Int) {
        self.state.withLock { ($0.calls, $0.failures) }
    }

    /// Counts one call and decides its fate.
    ///
    /// - Returns: the behaviour to apply (its latency, its limits), the failure to inject, if any,
    ///   and the call's number since the behaviour last changed (what the hostile mode draws from).
    func beginCall() -> (behaviour: MockBehaviour, failure: FailureMode?, call: Int) {
        self.state.withLock { state in
            state.calls += 1
            // the hostile mode replaces the failure pattern: no failure counted beside it
            let fails = state.behaviour.hostile == nil && state.behaviour.failsCall(state.calls)
            if fails { state.failures += 1 }
            return (state.behaviour, fails ? state.behaviour.mode : nil, state.calls)
        }
    }

    /// Whether the `json_schema` answer being written breaks its schema: one of the first
    /// `schema_violations` since the behaviour last changed. Asked once per answer.
    func takeSchemaViolation() -> Bool {
        self.state.withLock { state in
            guard state.schemaViolations < state.behaviour.schemaViolations else { return false }
            state.schemaViolations += 1
            return true
        }
    }

    /// Replaces the fields `update` lists and restarts the call counter.
    ///
    /// - Returns: the new behaviour, or the problem (a sentence) that made it refuse the update.
    func apply(_ update: BehaviourUpdate) -> Result<MockBehaviour, BehaviourProblem> {
        self.state.withLock { state in
            let behaviour = update.applied(to: state.behaviour)
            if let problem = behaviour.problem { return .failure(BehaviourProblem(message: problem)) }
            state = State(behaviour: behaviour)
            return .success(behaviour)
        }
    }

    /// Back to the behaviour given at start, with the call counter restarted.
    @discardableResult
    func reset() -> MockBehaviour {
        self.state.withLock { state in
            state = State(behaviour: self.initial)
            return self.initial
        }
    }
}

/// Why a behaviour was refused.
struct BehaviourProblem: Error, Sendable {
    let message: String
}
