import Shared

/// What an ``UpstreamCaller`` asks of the providers' health before and after a call: the circuit,
/// the cool-downs and the budgets of ``ProviderHealth``, seen through a seam a test can fake.
protocol UpstreamHealth: Sendable {
    /// May `model` at `provider` be called now, for a request of about `tokens` tokens?
    func admit(provider: String, model: String, rpm: Int?, tpm: Int?, tokens: Int, probeDeadline: Duration) async -> ProviderHealth.Admission
    /// Learns from a call's outcome.
    func record(provider: String, model: String, failure: UpstreamFailure?, rateLimitExhausted: Duration?) async
    /// A probe that made no call with an outcome: the next call may probe.
    func releaseProbe(provider: String)
}

extension ProviderHealth: UpstreamHealth {}
