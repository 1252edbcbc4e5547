/// Everything the routes share: the behaviour and the counters.
struct MockState: Sendable {
    let behaviour: BehaviourStore
    let stats: CallStats
    let hostile: HostileStats

    init(behaviour: MockBehaviour) {
        self.behaviour = BehaviourStore(behaviour)
        self.stats = CallStats()
        self.hostile = HostileStats()
    }
}
