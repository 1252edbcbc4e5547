/// Everything the routes share: the behaviour and the counters.
struct MockState: Sendable {
    let behaviour: BehaviourStore
    let stats: CallStats

    init(behaviour: MockBehaviour) {
        self.behaviour = BehaviourStore(behaviour)
        self.stats = CallStats()
    }
}
