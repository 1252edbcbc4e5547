import Shared

/// What one model made of a job: the answer every layer of the call passes up (an
/// ``UpstreamCaller`` deciding about one failed call, a ``DocumentRunner`` about its steps), and
/// ``JobRunner`` turns into a settlement or a fallback.
enum ModelOutcome: Sendable {
    /// Settle with this outcome.
    case settle(Settlement.Outcome, progress: Int?)
    /// This model cannot do it (bad key, quota, context too long, attempts used up): try the next.
    case nextModel(UpstreamFailure)

    /// The same decision, with the job's progress already counted step by step.
    func withProgress(_ progress: Int) -> ModelOutcome {
        if case .settle(let outcome, _) = self { return .settle(outcome, progress: progress) }
        return self
    }
}
