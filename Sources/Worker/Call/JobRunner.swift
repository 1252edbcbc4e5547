import Foundation
import Logging
import Shared

/// Runs one delivery of a job: builds the upstream request, tries the group's models in priority
/// order, and turns what happened into a ``Settlement`` — completed with its charge, failed, or
/// back to the queue after a delay. It never sleeps for a retry: a job waiting for a retry is
/// scheduled in the queue and holds no worker slot.
struct JobRunner: Sendable {
    struct Policy: Sendable {
        var maxAttempts: Int
        var retryBase: Duration
        var retryCap: Duration
        var defaultMaxTokens: Int
    }

    let upstreams: [ProviderKind: any Upstream]
    let routing: Routing
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
        for model in group.models {
            let endpoint: UpstreamEndpoint
            do {
                endpoint = try await routing.endpoint(model.provider)
            } catch {
                logger.warning("provider unavailable", metadata: ["provider": "\(model.provider)", "error": "\(error)"])
                continue
            }
            guard let upstream = upstreams[endpoint.kind] else { continue }
            let request = makeRequest(job.work, model: model)
            let started = ContinuousClock.now
            do {
                let response = try await upstream.complete(request, at: endpoint)
                let cost = model.cost(promptTokens: response.usage.promptTokens, completionTokens: response.usage.completionTokens)
                calls.append(call(job, model, attempt, started, status: response.statusCode, failure: nil, usage: response.usage, cost: cost, requestID: response.requestID))
                var result: [String: JSONValue] = [
                    "content": response.content.map(JSONValue.string) ?? .null,
                    "finish_reason": response.finishReason.map(JSONValue.string) ?? .null,
                ]
                if let toolCalls = response.toolCalls { result["tool_calls"] = toolCalls }
                let charge = Billing.charge(tokens: response.usage.totalTokens, costUSD: cost, job.billing)
                return Settlement(
                    claim: job.claim, outcome: .completed(result: .object(result), usage: response.usage, costUSD: cost, charge: charge),
                    calls: calls, reachedUpstream: true
                )
            } catch {
                calls.append(call(job, model, attempt, started, status: error.statusCode, failure: error, usage: .zero, cost: 0, requestID: error.requestID))
                if Task.isCancelled {
                    // Shutdown, a cancel or a lost lease: hand the job back; PostgreSQL decides which.
                    return Settlement(claim: job.claim, outcome: .retry(delay: .zero, countsAttempt: false, message: nil), calls: calls, reachedUpstream: true)
                }
                lastFailure = error
                switch error.kind {
                case .contextTooLong, .badCredentials, .quotaExhausted:
                    logger.warning("falling back to the next model", metadata: ["job_id": "\(job.claim.jobID)", "provider": "\(model.provider)", "reason": "\(error.kind.rawValue)"])
                    continue
                case .rateLimited:
                    return Settlement(
                        claim: job.claim, outcome: .retry(delay: error.retryAfter ?? backoff(attempt), countsAttempt: false, message: error.message),
                        calls: calls, reachedUpstream: true
                    )
                case .transient:
                    if attempt < policy.maxAttempts {
                        return Settlement(
                            claim: job.claim, outcome: .retry(delay: error.retryAfter ?? backoff(attempt), countsAttempt: true, message: error.message),
                            calls: calls, reachedUpstream: true
                        )
                    }
                    continue
                case .invalidRequest:
                    return Settlement(claim: job.claim, outcome: .failed(code: .invalidRequest, message: error.message), calls: calls, reachedUpstream: true)
                }
            }
        }
        let code: JobErrorCode = lastFailure?.kind == .contextTooLong ? .contextTooLong : .upstreamError
        return Settlement(
            claim: job.claim, outcome: .failed(code: code, message: lastFailure?.message ?? "no model of the group could be called"),
            calls: calls, reachedUpstream: !calls.isEmpty
        )
    }

    /// Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(attempt-1))].
    func backoff(_ attempt: Int) -> Duration {
        let base = Double(policy.retryBase.milliseconds)
        let ceiling = min(Double(policy.retryCap.milliseconds), base * pow(2, Double(max(0, attempt - 1))))
        return .milliseconds(Int64(Double.random(in: 0...max(1, ceiling))))
    }

    func makeRequest(_ work: JobWork, model: ModelEntry) -> UpstreamRequest {
        var messages = work.messages ?? []
        if let document = work.document {
            messages = [
                .object(["role": .string("system"), "content": .string(work.instructions ?? "Analyse the document.")]),
                .object(["role": .string("user"), "content": .string(document)]),
            ]
        }
        return UpstreamRequest(
            model: model.modelName, messages: messages, maxTokens: work.maxTokens ?? policy.defaultMaxTokens,
            temperature: work.temperature, topP: work.topP, stop: work.stop, tools: work.tools, toolChoice: work.toolChoice,
            responseFormat: work.responseFormat
        )
    }

    private func call(
        _ job: ClaimedJob, _ model: ModelEntry, _ attempt: Int, _ started: ContinuousClock.Instant, status: Int?,
        failure: UpstreamFailure?, usage: TokenUsage, cost: Decimal, requestID: String?
    ) -> JobCall {
        JobCall(
            jobID: job.claim.jobID, model: model.modelName, provider: model.provider, attempt: attempt, statusCode: status,
            errorClass: failure?.kind.rawValue, error: failure?.message, upstreamRequestID: requestID, usage: usage, costUSD: cost,
            latencyMS: (ContinuousClock.now - started).milliseconds
        )
    }
}
