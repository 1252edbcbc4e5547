import Backoff
import Foundation
import Logging
import Shared

/// Call: runs one delivery of a job. It tries the group's models in priority order (the rest are
/// fallbacks), runs a chat job as one call and a document as chunk calls plus reduce calls, and
/// turns what happened into a ``Settlement`` — completed with its charge, failed, or back to the
/// queue after a delay. It never sleeps for a retry: a job waiting for a retry is scheduled in the
/// queue and holds no worker slot.
///
/// The call layer flows one way: `JobRunner` → ``DocumentRunner`` / ``UpstreamCaller`` →
/// ``Upstream``. Nothing below calls back up; each answers with a ``ModelOutcome``.
struct JobRunner: Sendable {
    struct Policy: Sendable {
        var maxAttempts: Int
        var retryBase: Duration
        var retryCap: Duration
        var defaultMaxTokens: Int
        var defaultContextTokens: Int
        var documentConcurrency: Int
        var documentLimits: DocumentLimits = .default

        /// Exponential backoff with full jitter, in [0, min(cap, base·2^(attempt−1))].
        var retry: RetryPolicy {
            RetryPolicy(base: retryBase, cap: retryCap, maxAttempts: maxAttempts)
        }
    }

    let upstreams: [ProviderKind: any Upstream]
    let routing: Routing
    /// Circuits, cool-downs and budgets (``ProviderHealth``); each model's calls go through it.
    let health: any UpstreamHealth
    let steps: any StepLog
    let policy: Policy
    let logger: Logger
    /// Where streaming calls' deltas are appended (nil: streaming calls are answered in one piece).
    var callStreams: (any CallStreams)? = nil
    /// An uploaded document's text: extracted once and kept, then read back (nil: uploads fail).
    var extraction: ExtractionStep? = nil
    /// Every upstream call counted and timed (`saas_upstream_*`), once per worker.
    var upstreamMetrics: UpstreamMetrics? = UpstreamMetrics()

    private var prompts: PromptBuilder { PromptBuilder(defaultMaxTokens: policy.defaultMaxTokens) }

    func run(_ job: ClaimedJob) async -> Settlement {
        guard job.work.stream == true, let callStreams else { return await run(job, sink: nil) }
        let sink = CallStreamSink(streams: callStreams, streamID: job.claim.jobID, logger: logger)
        // An earlier delivery may have streamed part of an answer: one that used an attempt, or
        // one whose worker died or gave the job back (those use none, but their text is there).
        if job.attempts > 0 ? true : await Self.streamHasEntries(callStreams, job.claim.jobID) {
            await sink.reset()
        }
        let settlement = await run(job, sink: sink)
        // Every delta is in the stream before the settlement announces the end: a reader that
        // sees the call end finds the whole answer.
        await sink.finish()
        return settlement
    }

    /// Whether the call's stream already holds entries. A failed read says yes: a needless reset
    /// only makes a client redraw, a missing one leaves it two answers run together.
    private static func streamHasEntries(_ streams: any CallStreams, _ streamID: UUID) async -> Bool {
        do { return !(try await streams.read(streamID, after: nil, limit: 1)).isEmpty } catch { return true }
    }

    // Frames: a job's task holds the frame of every async function on its way to the upstream
    // for as long as the call waits (a second, for thousands of jobs at once), and a frame holds
    // every value live across any of the function's suspension points — including those of the
    // async functions inlined into it. The functions below are kept out of line so that a chat
    // call does not carry the frames of the paths it does not take (an upload's extraction, a
    // document's chunk calls). heaptrack put this type's frames at ~17 KB of the ~36 KB of task
    // memory a waiting call held in one function; split so, ~14 KB (docs/SCALING.md, "What a
    // waiting call holds"). `scripts/async-frames.py` lists a binary's async frames by size.
    @inline(never)
    private func run(_ claimed: ClaimedJob, sink: (any DeltaSink)?) async -> Settlement {
        switch await prepare(claimed) {
        case .settle(let settlement): return settlement
        case .ready(let job, let group, let document): return await runModels(job, group: group, document: document, sink: sink)
        }
    }

    /// What a job needs before any model is tried, or why it ends here.
    private enum Preparation {
        case settle(Settlement)
        /// The job (its reservation number moved if an upload's extraction moved it), its model
        /// group, and its document's text if it has one.
        case ready(ClaimedJob, ModelGroup, DocumentText?)
    }

    /// The job's expiry, its model group and its document's text (out of line: see "Frames").
    @inline(never)
    private func prepare(_ claimed: ClaimedJob) async -> Preparation {
        var job = claimed
        if job.expiresAt <= Date() {
            return .settle(Settlement(claim: job.claim, outcome: .expired, calls: [], reachedUpstream: false))
        }
        let group: ModelGroup
        do {
            group = try await routing.group(job.modelGroup)
        } catch {
            logger.warning("model group unavailable", metadata: ["job_id": "\(job.claim.jobID)", "error": "\(error)"])
            let retry = policy.retry.delay(afterAttempt: job.attempts + 1)
            return .settle(
                Settlement(
                    claim: job.claim,
                    outcome: .retry(delay: retry, countsAttempt: false, message: "model group unavailable"),
                    calls: [],
                    reachedUpstream: false
                )
            )
        }
        // A document's text: an upload's is extracted (once: it is kept as a step), else as sent.
        guard job.work.upload != nil else {
            return .ready(job, group, job.work.document.map { DocumentText(pages: [$0], showsPages: false) })
        }
        guard let extraction else {
            let outcome = Settlement.Outcome.failed(code: .invalidRequest, message: "This worker cannot read uploaded documents")
            return .settle(Settlement(claim: job.claim, outcome: outcome, calls: [], reachedUpstream: false))
        }
        switch await extraction.text(for: job, group: group) {
        case .text(let text, let reservationNumber):
            // Steps are kept under the reservation the calls run on.
            job.reservationNumber = reservationNumber
            return .ready(job, group, text)
        case .settle(let outcome):
            // A retry for the machine's trouble uses an attempt although no upstream was
            // called: an extractor that can never run ends the job after MAX_ATTEMPTS, not
            // at its expiry days later.
            var counts = false
            if case .retry(_, true, _) = outcome { counts = true }
            return .settle(Settlement(claim: job.claim, outcome: outcome, calls: [], reachedUpstream: counts, progress: 0))
        }
    }

    /// The group's models in priority order until one settles the job (out of line: see
    /// "Frames").
    @inline(never)
    private func runModels(_ job: ClaimedJob, group: ModelGroup, document: DocumentText?, sink: (any DeltaSink)?) async -> Settlement {
        let attempt = job.attempts + 1
        var calls: [JobCall] = []
        var lastFailure: UpstreamFailure?
        var soonest: Duration?
        var planRefusal: UpstreamFailure?
        for model in group.models {
            let (outcome, modelCalls): (ModelOutcome, [JobCall])
            switch await tryModel(model, job: job, document: document, attempt: attempt, sink: sink) {
            case .unavailable:
                continue
            case .planRefused(let refusal):
                planRefusal = planRefusal ?? refusal
                continue
            case .resting(let wait):
                soonest = min(soonest ?? wait, wait)
                continue
            case .ran(let ran, let ranCalls):
                (outcome, modelCalls) = (ran, ranCalls)
            }
            calls += modelCalls
            if Task.isCancelled {
                // Shutdown, a cancel or a lost lease: hand the job back; PostgreSQL decides which.
                return Settlement(
                    claim: job.claim,
                    outcome: .retry(delay: .zero, countsAttempt: false, message: nil),
                    calls: calls,
                    reachedUpstream: !calls.isEmpty,
                    progress: 0
                )
            }
            switch outcome {
            case .settle(let settled, let progress):
                return Settlement(claim: job.claim, outcome: settled, calls: calls, reachedUpstream: !calls.isEmpty, progress: progress)
            case .nextModel(let failure):
                logger.warning(
                    "falling back to the next model",
                    metadata: [
                        "job_id": "\(job.claim.jobID)", "provider": "\(model.provider)", "reason": "\(failure.kind.rawValue)",
                    ]
                )
                lastFailure = failure
            }
        }
        if let soonest, lastFailure == nil {
            // Every model is resting: back to the queue until the first is ready, holding no slot.
            return Settlement(
                claim: job.claim,
                outcome: .retry(delay: soonest, countsAttempt: false, message: "upstreams are cooling down"),
                calls: calls,
                reachedUpstream: !calls.isEmpty,
                progress: 0
            )
        }
        lastFailure = lastFailure ?? planRefusal
        let code: JobErrorCode = lastFailure?.kind == .contextTooLong ? .contextTooLong : .upstreamError
        return Settlement(
            claim: job.claim,
            outcome: .failed(code: code, message: lastFailure?.tenantMessage ?? "No model of the group could be called"),
            calls: calls,
            reachedUpstream: !calls.isEmpty,
            progress: calls.filter { $0.error == nil }.count
        )
    }

    /// What one model of the group made of the job.
    private enum ModelTry {
        /// Its provider cannot be read, or is of a kind this worker has no client for.
        case unavailable
        /// It would split the document past the limits.
        case planRefused(UpstreamFailure)
        /// Cooling down, circuit open or budget spent, for this long.
        case resting(Duration)
        /// Called: what to do, and the calls made.
        case ran(ModelOutcome, [JobCall])
    }

    /// One model's try at the job: its provider, its plan for a document, its admission, its
    /// calls (out of line: see "Frames" above).
    @inline(never)
    private func tryModel(
        _ model: ModelEntry,
        job: ClaimedJob,
        document: DocumentText?,
        attempt: Int,
        sink: (any DeltaSink)?
    ) async -> ModelTry {
        guard let endpoint = try? await routing.endpoint(model.provider), let upstream = upstreams[endpoint.kind] else {
            logger.warning("provider unavailable", metadata: ["provider": "\(model.provider)"])
            return .unavailable
        }
        let cut = document.map { documentChunks(job.work, document: $0, model: model) }
        if let refusal = cut?.plan.refusal(policy.documentLimits, model: model.modelName) {
            // This model would split the document past the limits: a fallback may take it.
            return .planRefused(UpstreamFailure(kind: .contextTooLong, statusCode: nil, message: refusal, ownMessage: refusal))
        }
        let caller = UpstreamCaller(
            upstream: upstream,
            endpoint: endpoint,
            model: model,
            health: health,
            retry: policy.retry,
            jobID: job.claim.jobID,
            attempt: attempt,
            sink: sink,
            metrics: upstreamMetrics
        )
        let admission = await caller.admit(tokens: endpoint.tpm == nil ? 0 : estimatedTokens(job.work, document: document))
        if case .wait(let wait) = admission { return .resting(wait) }
        let (outcome, calls): (ModelOutcome, [JobCall])
        if let document, let cut, cut.plan.calls > 1 {
            (outcome, calls) = await chunked(job, document: document, cut: cut, caller: caller)
        } else if let document {
            (outcome, calls) = await single(job, caller: caller, document: document)
        } else {
            (outcome, calls) = await single(job, caller: caller)
        }
        if admission == .probe {
            // Whatever happened, the probe is over: its call's outcome (if any) has been
            // recorded; if it made none, the next call may probe.
            caller.releaseProbe()
        }
        return .ran(outcome, calls)
    }

    /// A document past one call: its chunks' calls and the reduce calls (out of line: see
    /// "Frames" above).
    @inline(never)
    private func chunked(
        _ job: ClaimedJob,
        document: DocumentText,
        cut: (chunks: [DocumentChunk], plan: DocumentPlan),
        caller: UpstreamCaller
    ) async -> (ModelOutcome, [JobCall]) {
        let runner = DocumentRunner(
            job: job,
            plan: cut.plan,
            caller: caller,
            steps: steps,
            prompts: prompts,
            concurrency: policy.documentConcurrency,
            showsPages: document.showsPages,
            schema: job.work.responseSchema
        )
        return await runner.run(cut.chunks)
    }

    /// A chat job, or a document that fits one call.
    @inline(never)
    private func single(_ job: ClaimedJob, caller: UpstreamCaller) async -> (ModelOutcome, [JobCall]) {
        let (result, call) = await caller.call(prompts.single(job.work, model: caller.model), step: "single", index: 0)
        switch result {
        case .success(let response):
            let cost = call.costUSD
            var body: [String: JSONValue] = [
                "content": response.content.map { .string($0.storable) } ?? .null,
                "finish_reason": response.finishReason.map { .string($0.storable) } ?? .null,
            ]
            if let toolCalls = response.toolCalls { body["tool_calls"] = toolCalls.storable }
            let charge = Billing.charge(tokens: response.usage.totalTokens, costUSD: cost, job.billing)
            return (.settle(.completed(result: .object(body), usage: response.usage, costUSD: cost, charge: charge), progress: nil), [call])
        case .failure(let failure):
            return (caller.decide(failure), [call])
        }
    }

    /// A document that fits one call. An answer off the job's schema is asked for once more on
    /// the same model; a second one fails the job (`invalid_output`).
    @inline(never)
    private func single(_ job: ClaimedJob, caller: UpstreamCaller, document: DocumentText) async -> (ModelOutcome, [JobCall]) {
        let schema = job.work.responseSchema
        var calls: [JobCall] = []
        for attempt in 0..<2 {
            let (result, call) = await caller.call(prompts.single(job.work, model: caller.model, document: document), step: "single", index: attempt)
            calls.append(call)
            switch result {
            case .success(let response):
                var content = response.content.map { $0.storable }
                if let schema {
                    // The answer is kept as its JSON (a code fence around it dropped), or not at all.
                    do throws(SchemaViolation) {
                        content = try schema.check(content ?? "")
                    } catch {
                        if attempt == 0 { continue }
                        return (.settle(.failed(code: .invalidOutput, message: error.jobMessage), progress: nil), calls)
                    }
                }
                var body: [String: JSONValue] = [
                    "content": content.map(JSONValue.string) ?? .null,
                    "finish_reason": response.finishReason.map { .string($0.storable) } ?? .null,
                ]
                if let toolCalls = response.toolCalls { body["tool_calls"] = toolCalls.storable }
                if document.showsPages { body["sources"] = DocumentRunner.sources([Self.whole(document)]) }
                let usage = calls.reduce(TokenUsage.zero) { $0 + $1.usage }
                let cost = calls.reduce(Decimal(0)) { $0 + $1.costUSD }
                let charge = Billing.charge(tokens: usage.totalTokens, costUSD: cost, job.billing)
                return (.settle(.completed(result: .object(body), usage: usage, costUSD: cost, charge: charge), progress: nil), calls)
            case .failure(let failure):
                return (caller.decide(failure), calls)
            }
        }
        return (.settle(.failed(code: .invalidOutput, message: SchemaViolation(path: "$", reason: "no answer").jobMessage), progress: nil), calls)
    }

    /// The one chunk of a document that fits one call: all its pages.
    private static func whole(_ document: DocumentText) -> DocumentChunk {
        DocumentChunk(text: document.prompt, firstPage: 1, lastPage: max(1, document.pages.count))
    }

    /// A request's tokens at most, for the tokens-per-minute budget: the prompt's estimate plus
    /// the completion limit (a document counts its first call's share).
    func estimatedTokens(_ work: JobWork, document: DocumentText? = nil) -> Int {
        let completion = work.maxTokens ?? policy.defaultMaxTokens
        if let document {
            let bytes = document.pages.reduce(0) { $0 + $1.utf8.count }
            return min((bytes + 3) / 4, policy.defaultContextTokens) + completion
        }
        return Billing.estimatePromptTokens(messages: work.messages ?? [], tools: work.tools) + completion
    }

    /// The document cut for a model (pages packed into chunks of the model's prompt room), and
    /// the plan of calls those chunks make.
    func documentChunks(_ work: JobWork, document: DocumentText, model: ModelEntry) -> (chunks: [DocumentChunk], plan: DocumentPlan) {
        let completion = work.maxTokens ?? policy.defaultMaxTokens
        let room = DocumentPlan.room(
            instructionTokens: work.documentInstructionTokens,
            contextTokens: model.contextTokens ?? policy.defaultContextTokens,
            maxTokens: completion
        )
        let chunks = Chunker.chunks(document, maxBytes: room * 4)
        return (chunks, DocumentPlan(chunkCount: chunks.count, room: room, maxTokens: completion))
    }
}
