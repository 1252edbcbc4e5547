import Foundation
import Logging
import Shared

/// Call: runs one delivery of a job. It tries the group's models in priority order (the rest are
/// fallbacks), runs a chat job as one call and a document as chunk calls plus reduce calls, and
/// turns what happened into a ``Settlement`` — completed with its charge, failed, or back to the
/// queue after a delay. It never sleeps for a retry: a job waiting for a retry is scheduled in the
/// queue and holds no worker slot.
struct JobRunner: Sendable {
    struct Policy: Sendable {
        var maxAttempts: Int
        var retryBase: Duration
        var retryCap: Duration
        var defaultMaxTokens: Int
        var defaultContextTokens: Int
        var documentConcurrency: Int
        var documentLimits: DocumentLimits = .default
    }

    /// What one model made of the job.
    enum Attempt: Sendable {
        /// Settle with this outcome.
        case settle(Settlement.Outcome, progress: Int?)
        /// This model cannot do it (bad key, quota, context too long, attempts used up): try the next.
        case nextModel(UpstreamFailure)
    }

    let upstreams: [ProviderKind: any Upstream]
    let routing: Routing
    let health: ProviderHealth
    let jobs: any JobStore
    let policy: Policy
    let logger: Logger

    func run(_ job: ClaimedJob) async -> Settlement {
        if job.expiresAt <= Date() {
            return Settlement(claim: job.claim, outcome: .expired, calls: [], reachedUpstream: false)
        }
        let attempt = job.attempts + 1
        let group: ModelGroup
        do {
            group = try await routing.group(job.modelGroup)
        } catch {
            logger.warning("model group unavailable", metadata: ["job_id": "\(job.claim.jobID)", "error": "\(error)"])
            return Settlement(claim: job.claim, outcome: .retry(delay: backoff(attempt), countsAttempt: false, message: "model group unavailable"),
                              calls: [], reachedUpstream: false)
        }
        var calls: [JobCall] = []
        var lastFailure: UpstreamFailure?
        var soonest: Duration?
        var planRefusal: UpstreamFailure?
        for model in group.models {
            guard let endpoint = try? await routing.endpoint(model.provider), let upstream = upstreams[endpoint.kind] else {
                logger.warning("provider unavailable", metadata: ["provider": "\(model.provider)"])
                continue
            }
            let plan = job.work.document.map { documentPlan(job.work, document: $0, model: model) }
            if let refusal = plan?.refusal(policy.documentLimits, model: model.modelName) {
                // This model would split the document past the limits: a fallback may take it.
                planRefusal = planRefusal ?? UpstreamFailure(kind: .contextTooLong, statusCode: nil, message: refusal, ownMessage: refusal)
                continue
            }
            let tokens = endpoint.tpm == nil ? 0 : estimatedTokens(job.work)
            let admission = await health.admit(
                provider: model.provider, model: model.modelName, rpm: endpoint.rpm, tpm: endpoint.tpm, tokens: tokens,
                probeDeadline: endpoint.timeout + .seconds(5)
            )
            if case .wait(let wait) = admission {
                // Cooling down, circuit open or budget spent: a fallback may take it, else later.
                soonest = min(soonest ?? wait, wait)
                continue
            }
            let context = StepContext(job: job, model: model, endpoint: endpoint, upstream: upstream, attempt: attempt, runner: self)
            let (outcome, modelCalls): (Attempt, [JobCall])
            if let document = job.work.document, let plan, plan.calls > 1 {
                (outcome, modelCalls) = await DocumentRunner(context: context, plan: plan, concurrency: policy.documentConcurrency).run(document)
            } else {
                (outcome, modelCalls) = await single(context)
            }
            calls += modelCalls
            if admission == .probe {
                // Whatever happened, the probe is over: its call's outcome (if any) has been
                // recorded; if it made none, the next call may probe.
                health.releaseProbe(provider: model.provider)
            }
            if Task.isCancelled {
                // Shutdown, a cancel or a lost lease: hand the job back; PostgreSQL decides which.
                return Settlement(claim: job.claim, outcome: .retry(delay: .zero, countsAttempt: false, message: nil),
                                  calls: calls, reachedUpstream: !calls.isEmpty, progress: 0)
            }
            switch outcome {
            case .settle(let settled, let progress):
                return Settlement(claim: job.claim, outcome: settled, calls: calls, reachedUpstream: !calls.isEmpty, progress: progress)
            case .nextModel(let failure):
                logger.warning("falling back to the next model", metadata: [
                    "job_id": "\(job.claim.jobID)", "provider": "\(model.provider)", "reason": "\(failure.kind.rawValue)",
                ])
                lastFailure = failure
            }
        }
        if let soonest, lastFailure == nil {
            // Every model is resting: back to the queue until the first is ready, holding no slot.
            return Settlement(claim: job.claim, outcome: .retry(delay: soonest, countsAttempt: false, message: "upstreams are cooling down"),
                              calls: calls, reachedUpstream: !calls.isEmpty, progress: 0)
        }
        lastFailure = lastFailure ?? planRefusal
        let code: JobErrorCode = lastFailure?.kind == .contextTooLong ? .contextTooLong : .upstreamError
        return Settlement(
            claim: job.claim, outcome: .failed(code: code, message: lastFailure?.tenantMessage ?? "No model of the group could be called"),
            calls: calls, reachedUpstream: !calls.isEmpty, progress: calls.filter { $0.error == nil }.count
        )
    }

    /// A chat job, or a document that fits one call.
    private func single(_ context: StepContext) async -> (Attempt, [JobCall]) {
        let request = makeRequest(context.job.work, model: context.model)
        let (result, call) = await context.call(request, step: "single", index: 0)
        switch result {
        case .success(let response):
            let cost = call.costUSD
            var body: [String: JSONValue] = [
                "content": response.content.map { .string($0.storable) } ?? .null,
                "finish_reason": response.finishReason.map { .string($0.storable) } ?? .null,
            ]
            if let toolCalls = response.toolCalls { body["tool_calls"] = toolCalls.storable }
            let charge = Billing.charge(tokens: response.usage.totalTokens, costUSD: cost, context.job.billing)
            return (.settle(.completed(result: .object(body), usage: response.usage, costUSD: cost, charge: charge), progress: nil), [call])
        case .failure(let failure):
            return (decide(failure, attempt: context.attempt), [call])
        }
    }

    /// What a failed call means for the job (SYSTEM.md, guarantee 7).
    func decide(_ failure: UpstreamFailure, attempt: Int) -> Attempt {
        switch failure.kind {
        case .contextTooLong, .badCredentials, .quotaExhausted:
            return .nextModel(failure)
        case .rateLimited:
            return .settle(.retry(delay: failure.retryAfter ?? backoff(attempt), countsAttempt: false, message: failure.tenantMessage), progress: nil)
        case .transient:
            guard attempt < policy.maxAttempts else { return .nextModel(failure) }
            return .settle(.retry(delay: failure.retryAfter ?? backoff(attempt), countsAttempt: true, message: failure.tenantMessage), progress: nil)
        case .invalidRequest:
            return .settle(.failed(code: .invalidRequest, message: failure.tenantMessage), progress: nil)
        }
    }

    /// A request's tokens at most, for the tokens-per-minute budget: the prompt's estimate plus
    /// the completion limit (a document counts its first call's share).
    func estimatedTokens(_ work: JobWork) -> Int {
        let completion = work.maxTokens ?? policy.defaultMaxTokens
        if let document = work.document {
            return min(Billing.estimateTokens(document), policy.defaultContextTokens) + completion
        }
        return Billing.estimatePromptTokens(messages: work.messages ?? [], tools: work.tools) + completion
    }

    /// Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(attempt-1))].
    func backoff(_ attempt: Int) -> Duration {
        let base = Double(policy.retryBase.milliseconds)
        let ceiling = min(Double(policy.retryCap.milliseconds), base * pow(2, Double(max(0, attempt - 1))))
        return .milliseconds(Int64(Double.random(in: 0...max(1, ceiling))))
    }

    func documentPlan(_ work: JobWork, document: String, model: ModelEntry) -> DocumentPlan {
        DocumentPlan(
            documentTokens: Billing.estimateTokens(document), instructionTokens: Billing.estimateTokens(work.instructions ?? ""),
            contextTokens: model.contextTokens ?? policy.defaultContextTokens, maxTokens: work.maxTokens ?? policy.defaultMaxTokens
        )
    }

    func makeRequest(_ work: JobWork, model: ModelEntry, messages override: [JSONValue]? = nil) -> UpstreamRequest {
        var messages = override ?? work.messages ?? []
        if override == nil, let document = work.document {
            messages = [
                .object(["role": .string("system"), "content": .string(work.instructions ?? DocumentRunner.defaultInstructions)]),
                .object(["role": .string("user"), "content": .string(document)]),
            ]
        }
        return UpstreamRequest(
            model: model.modelName, messages: messages, maxTokens: work.maxTokens ?? policy.defaultMaxTokens,
            temperature: work.temperature, topP: work.topP, stop: work.stop, tools: override == nil ? work.tools : nil,
            toolChoice: override == nil ? work.toolChoice : nil, responseFormat: work.responseFormat
        )
    }
}

/// One model's attempt at one job: makes calls and records each as a ``JobCall``.
struct StepContext: Sendable {
    let job: ClaimedJob
    let model: ModelEntry
    let endpoint: UpstreamEndpoint
    let upstream: any Upstream
    let attempt: Int
    let runner: JobRunner

    func call(_ request: UpstreamRequest, step: String, index: Int) async -> (Result<UpstreamResponse, UpstreamFailure>, JobCall) {
        let started = ContinuousClock.now
        let answer: Result<UpstreamResponse, UpstreamFailure>
        do {
            answer = .success(try await upstream.complete(request, at: endpoint))
        } catch {
            answer = .failure(error)
        }
        let result = UpstreamNumbers.refusingOverlong(answer, maxTokens: request.maxTokens)
        var call = JobCall(
            jobID: job.claim.jobID, step: step, stepIndex: index, model: model.modelName, provider: model.provider, attempt: attempt,
            statusCode: nil, errorClass: nil, error: nil, upstreamRequestID: nil, usage: .zero, costUSD: 0,
            latencyMS: (ContinuousClock.now - started).milliseconds
        )
        switch result {
        case .success(let response):
            await runner.health.record(provider: model.provider, model: model.modelName, failure: nil, rateLimitExhausted: response.exhaustedFor)
            call.statusCode = response.statusCode
            call.upstreamRequestID = response.requestID
            call.usage = response.usage
            call.costUSD = model.cost(promptTokens: response.usage.promptTokens, completionTokens: response.usage.completionTokens)
        case .failure(let failure):
            if !Task.isCancelled { await runner.health.record(provider: model.provider, model: model.modelName, failure: failure) }
            call.statusCode = failure.statusCode
            call.upstreamRequestID = failure.requestID
            call.errorClass = failure.kind.rawValue
            // For admins only (tenants read the category): redacted again with the key itself.
            call.error = SecretRedactor.redact(failure.message, secrets: [endpoint.apiKey]).storable
        }
        return (result, call)
    }
}
