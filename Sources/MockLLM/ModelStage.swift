/// What a valid call turns into once it reaches the simulated model.
enum ModelOutcome: Sendable, Equatable {
    /// Answer normally.
    case reply
    /// Answer with this error.
    case failure(UpstreamError)
    /// Answer 200 with the normal body cut in half (`malformed`).
    case malformedReply
    /// Answer as this kind of the hostile catalogue says.
    case hostile(HostileKind)
}

extension MockState {
    /// The part of a call that stands for the model: counts the call, waits the latency (or holds
    /// the call for `timeout`), and says whether to answer or which failure to inject.
    ///
    /// Runs only for calls that passed authentication and validation: a real provider rejects those
    /// at once, so they neither wait nor count in the failure pattern.
    func simulateModel(promptTokens: Int) async -> ModelOutcome {
        let (behaviour, failure, call) = self.behaviour.beginCall()
        if let hostile = behaviour.hostile {
            let kind = hostile.kind(forCall: call)
            self.hostile.answered(kind)
            if behaviour.latencyMs > 0 { try? await Task.sleep(for: .milliseconds(behaviour.latencyMs)) }
            return .hostile(kind)
        }
        if failure == .timeout {
            // asleep; `ConnectionWatch` cancels the sleep when the client leaves (if the mode became
            // `timeout` while this call was being read, only the timeout or a shutdown ends it)
            try? await Task.sleep(for: .seconds(behaviour.timeoutSeconds))
            return .failure(.timedOut)
        }
        if behaviour.latencyMs > 0 {
            // asleep, not blocking: a thousand calls held at once cost a thousand suspended tasks
            try? await Task.sleep(for: .milliseconds(behaviour.latencyMs))
        }
        switch failure {
        case nil, .ok, .timeout: return .reply
        case .malformed: return .malformedReply
        case .rateLimit: return .failure(.rateLimited(retryAfterSeconds: behaviour.retryAfterSeconds))
        case .serverError: return .failure(.serverError)
        case .overloaded: return .failure(.overloaded)
        case .badKey: return .failure(.invalidKey)
        case .quota: return .failure(.quotaExceeded)
        case .context:
            // an injected refusal still reads as a consistent one: the prompt "is" over the limit
            return .failure(.contextTooLong(limit: behaviour.contextLimit, tokens: max(promptTokens, behaviour.contextLimit + 1)))
        }
    }
}
