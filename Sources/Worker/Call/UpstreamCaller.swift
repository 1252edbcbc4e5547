import Backoff
import Foundation
import Shared

/// One model's calls for one delivery of a job, and the per-model decisions around them: may the
/// model be called now (circuit, cool-down, budget), what each call taught the providers' health,
/// how each call is recorded, and what a failed call means for the job (SYSTEM.md, guarantee 7).
/// ``JobRunner`` and ``DocumentRunner`` both call through it; it knows neither.
struct UpstreamCaller: Sendable {
    let upstream: any Upstream
    let endpoint: UpstreamEndpoint
    let model: ModelEntry
    let health: any UpstreamHealth
    /// Backoff and attempts of transient failures (`RETRY_BASE_SECONDS`, `RETRY_CAP_SECONDS`,
    /// `MAX_ATTEMPTS`).
    let retry: RetryPolicy
    let jobID: UUID
    /// This delivery's attempt, 1-based.
    let attempt: Int
    /// Where a streaming call's deltas go (`create-and-call-stream`, `llm-call-stream`); nil for
    /// a call answered in one piece.
    var sink: (any DeltaSink)? = nil
    /// The worker's upstream metrics; nil records nothing.
    var metrics: UpstreamMetrics? = nil

    /// May this model be called now, for a request of about `tokens` tokens? A `.probe` must be
    /// answered by a call or by ``releaseProbe()``; one that gets neither is lost after the
    /// provider's timeout and a margin.
    func admit(tokens: Int) async -> ProviderHealth.Admission {
        await health.admit(
            provider: model.provider,
            model: model.modelName,
            rpm: endpoint.rpm,
            tpm: endpoint.tpm,
            tokens: tokens,
            probeDeadline: endpoint.timeout + .seconds(5)
        )
    }

    /// The probe this model was admitted as is over, whatever it did.
    func releaseProbe() {
        health.releaseProbe(provider: model.provider)
    }

    /// Makes one call and records it as a ``JobCall``; the providers' health learns from its
    /// outcome (except a call cut short by a cancel, which says nothing about the provider).
    func call(_ request: UpstreamRequest, step: String, index: Int) async -> (Result<UpstreamResponse, UpstreamFailure>, JobCall) {
        let started = ContinuousClock.now
        let answer: Result<UpstreamResponse, UpstreamFailure>
        do {
            if let sink {
                answer = .success(try await upstream.stream(request, at: endpoint, into: sink))
            } else {
                answer = .success(try await upstream.complete(request, at: endpoint))
            }
        } catch {
            answer = .failure(error)
        }
        let result = UpstreamNumbers.refusingOverlong(answer, maxTokens: request.maxTokens)
        let duration = ContinuousClock.now - started
        // A call cut short by a cancel says nothing about the upstream.
        if !Task.isCancelled {
            metrics?.record(provider: model.provider, model: model.modelName, duration: duration, result)
        }
        var call = JobCall(
            jobID: jobID,
            step: step,
            stepIndex: index,
            model: model.modelName,
            provider: model.provider,
            attempt: attempt,
            statusCode: nil,
            errorClass: nil,
            error: nil,
            upstreamRequestID: nil,
            usage: .zero,
            costUSD: 0,
            latencyMS: duration.milliseconds
        )
        switch result {
        case .success(let response):
            await health.record(provider: model.provider, model: model.modelName, failure: nil, rateLimitExhausted: response.exhaustedFor)
            call.statusCode = response.statusCode
            call.upstreamRequestID = response.requestID
            call.usage = response.usage
            call.costUSD = model.cost(promptTokens: response.usage.promptTokens, completionTokens: response.usage.completionTokens)
        case .failure(let failure):
            if !Task.isCancelled { await health.record(provider: model.provider, model: model.modelName, failure: failure, rateLimitExhausted: nil) }
            call.statusCode = failure.statusCode
            call.upstreamRequestID = failure.requestID
            call.errorClass = failure.kind.rawValue
            // For admins only (tenants read the category): redacted again with the key itself.
            call.error = SecretRedactor.redact(failure.message, secrets: [endpoint.apiKey]).storable
        }
        return (result, call)
    }

    /// What a failed call means for the job: a 429 waits (its Retry-After, else the backoff)
    /// without using an attempt; a transient failure uses one, until `MAX_ATTEMPTS` sends the job
    /// to the next model; a bad request fails; a bad key, a spent quota or a context too long
    /// hand the job to the next model.
    func decide(_ failure: UpstreamFailure) -> ModelOutcome {
        if failure.afterOutput {
            // The tenant already read part of an answer: another attempt or model would stream a
            // different one after it. The call fails, with what it was.
            return .settle(.failed(code: .upstreamError, message: failure.tenantMessage + " (after part of the answer was streamed)"), progress: nil)
        }
        switch failure.kind {
        case .contextTooLong, .badCredentials, .quotaExhausted:
            return .nextModel(failure)
        case .rateLimited:
            return .settle(
                .retry(delay: failure.retryAfter ?? retry.delay(afterAttempt: attempt), countsAttempt: false, message: failure.tenantMessage),
                progress: nil
            )
        case .transient:
            guard retry.allowsRetry(after: attempt) else { return .nextModel(failure) }
            return .settle(
                .retry(delay: failure.retryAfter ?? retry.delay(afterAttempt: attempt), countsAttempt: true, message: failure.tenantMessage),
                progress: nil
            )
        case .invalidRequest:
            return .settle(.failed(code: .invalidRequest, message: failure.tenantMessage), progress: nil)
        }
    }
}
