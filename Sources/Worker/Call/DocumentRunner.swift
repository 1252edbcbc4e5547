import Foundation
import Shared

/// A `document_analysis` job too long for one call: map calls over chunks (concurrently, bounded),
/// then reduce calls that combine the partial analyses under the same instructions — several
/// levels when the partials do not fit one call. Each finished step is kept in PostgreSQL as it
/// finishes, so a redelivered job resumes where it stopped and a failure of one chunk never runs
/// its finished siblings again.
///
/// It depends on what it is given, never on its caller: calls and their decisions through an
/// ``UpstreamCaller``, finished steps through a ``StepLog``, prompts from a ``PromptBuilder``.
struct DocumentRunner: Sendable {
    let job: ClaimedJob
    let plan: DocumentPlan
    let caller: UpstreamCaller
    let steps: any StepLog
    let prompts: PromptBuilder
    /// At most this many calls at a time (`DOCUMENT_CONCURRENCY`).
    let concurrency: Int
    /// Whether the chunks are marked with their pages, and the result names them (`sources`).
    var showsPages = false
    /// What the job's `response_format` asks of the final answer (nil: nothing).
    var schema: ResponseSchema? = nil

    /// Steps are kept per plan: the model that ran them and the chunk size that split the
    /// document. A fallback model with another context splits it differently, so it starts over
    /// rather than reuse analyses of other text (which would skip or repeat parts).
    var planKey: String { "\(caller.model.provider)/\(caller.model.modelName)/\(plan.chunkTokens)" }

    private struct Spec: Sendable {
        var kind: JobStep.Kind
        var level: Int
        var index: Int
        var messages: [JSONValue]
        /// The call whose answer is the job's: it takes the job's `response_format`.
        var final = false
    }

    private struct Done: Sendable {
        var spec: Spec
        var result: Result<(String, String?), UpstreamFailure>
        var call: JobCall
        /// Why a final answer does not match the job's schema (it is then not kept as a step).
        var violation: SchemaViolation? = nil
    }

    func run(_ chunks: [DocumentChunk]) async -> (ModelOutcome, [JobCall]) {
        let stored: [JobStep]
        do {
            stored = try await steps.steps(job.claim.jobID, reservationNumber: job.reservationNumber, plan: planKey)
        } catch {
            let failure = UpstreamFailure(kind: .transient, statusCode: nil, message: "cannot read the job's finished steps")
            return (caller.decide(failure), [])
        }
        var finished: [String: JobStep] = [:]
        for step in stored { finished[Self.key(step.kind, step.level, step.index)] = step }
        var used: [JobStep] = []
        var newCalls: [JobCall] = []
        var rejected: [JobCall] = []

        // Map: one call per chunk not finished before.
        var partials: [Int: String] = [:]
        var specs: [Spec] = []
        for (index, chunk) in chunks.enumerated() {
            if let step = finished[Self.key(.chunk, 0, index)] {
                partials[index] = step.content
                used.append(step)
            } else {
                specs.append(
                    Spec(
                        kind: .chunk,
                        level: 0,
                        index: index,
                        messages: prompts.chunkMessages(job.work, chunk: chunk, index: index, of: chunks.count, showsPages: showsPages)
                    )
                )
            }
        }
        var failures: [(Int, UpstreamFailure)] = []
        for done in await runAll(specs) {
            newCalls.append(done.call)
            switch done.result {
            case .success(let (content, _)):
                partials[done.spec.index] = content
                used.append(JobStep(plan: planKey, kind: .chunk, level: 0, index: done.spec.index, content: content, call: done.call))
            case .failure(let failure):
                failures.append((done.spec.index, failure))
            }
        }
        if Task.isCancelled { return (.settle(.retry(delay: .zero, countsAttempt: false, message: nil), progress: 0), newCalls) }

        var gaps: [Int] = []
        if !failures.isEmpty {
            // Transient trouble first: the job comes back later and keeps its finished chunks.
            let retryable = failures.map(\.1).filter { $0.kind == .transient || $0.kind == .rateLimited }
            if let worst = retryable.max(by: { ($0.retryAfter ?? .zero) < ($1.retryAfter ?? .zero) }) {
                let outcome = caller.decide(retryable.contains { $0.kind == .transient } ? retryableTransient(worst) : worst)
                return (outcome.withProgress(0), newCalls)
            }
            if let switchModel = failures.map(\.1).first(where: { [.badCredentials, .quotaExhausted].contains($0.kind) }) {
                return (.nextModel(switchModel), newCalls)
            }
            guard job.work.allowPartial == true, !partials.isEmpty else {
                let first = failures.map(\.1)[0]
                let code: JobErrorCode = first.kind == .contextTooLong ? .contextTooLong : .invalidRequest
                return (
                    .settle(.failed(code: code, message: "part \(failures[0].0 + 1) of \(chunks.count) failed: \(first.tenantMessage)"), progress: 0),
                    newCalls
                )
            }
            gaps = failures.map(\.0).sorted()
        }

        // Reduce, level by level, until one analysis remains.
        var inputs = partials.keys.sorted().map { (index: $0, text: partials[$0]!) }
        var level = 0
        var finishReason: String? = "stop"
        let fanIn = max(2, plan.chunkTokens / max(1, prompts.maxTokens(job.work)))
        while level == 0 || inputs.count > 1 {
            let groups = stride(from: 0, to: inputs.count, by: fanIn).map { Array(inputs[$0..<min($0 + fanIn, inputs.count)]) }
            var outputs: [Int: String] = [:]
            var reduceSpecs: [Spec] = []
            let final = groups.count == 1
            for (index, group) in groups.enumerated() {
                if let step = finished[Self.key(.reduce, level, index)] {
                    outputs[index] = step.content
                    used.append(step)
                    continue
                }
                let messages = prompts.reduceMessages(
                    job.work,
                    parts: chunks.count,
                    level: level,
                    gaps: gaps,
                    inputs: group,
                    pages: showsPages && level == 0 ? pageRanges(chunks, group.map(\.index)) : [:],
                    final: final && schema != nil
                )
                reduceSpecs.append(Spec(kind: .reduce, level: level, index: index, messages: messages, final: final))
            }
            var done = await runAll(reduceSpecs)
            if final, let first = done.first, first.violation != nil {
                // A final answer off its schema is asked for once more, on the same model. Its
                // tokens were spent for the job: they are billed with the steps'.
                newCalls.append(first.call)
                rejected.append(first.call)
                done = await runAll([first.spec])
            }
            for done in done {
                newCalls.append(done.call)
                if let violation = done.violation {
                    return (.settle(.failed(code: .invalidOutput, message: violation.jobMessage), progress: 0), newCalls)
                }
                switch done.result {
                case .success(let (content, reason)):
                    outputs[done.spec.index] = content
                    finishReason = reason ?? finishReason
                    used.append(JobStep(plan: planKey, kind: .reduce, level: level, index: done.spec.index, content: content, call: done.call))
                case .failure(let failure):
                    if Task.isCancelled { return (.settle(.retry(delay: .zero, countsAttempt: false, message: nil), progress: 0), newCalls) }
                    return (caller.decide(failure).withProgress(0), newCalls)
                }
            }
            inputs = outputs.keys.sorted().map { (index: $0, text: outputs[$0]!) }
            level += 1
        }

        let usage = used.reduce(TokenUsage.zero) { $0 + $1.call.usage } + rejected.reduce(TokenUsage.zero) { $0 + $1.usage }
        let cost = used.reduce(Decimal(0)) { $0 + $1.call.costUSD } + rejected.reduce(Decimal(0)) { $0 + $1.costUSD }
        var result: [String: JSONValue] = [
            "content": .string(inputs.first?.text ?? ""), "finish_reason": finishReason.map(JSONValue.string) ?? .null,
        ]
        if !gaps.isEmpty {
            result["partial"] = .bool(true)
            result["missing_parts"] = .array(gaps.map { .integer($0 + 1) })
        }
        if showsPages {
            result["sources"] = Self.sources(chunks, skipping: Set(gaps))
        }
        let charge = Billing.charge(tokens: usage.totalTokens, costUSD: cost, job.billing)
        // The steps' calls are billed (those of earlier deliveries too: their work is in the result).
        var calls = used.map(\.call)
        let usedIDs = Set(calls.map(\.callID))
        calls += newCalls.filter { !usedIDs.contains($0.callID) }
        return (.settle(.completed(result: .object(result), usage: usage, costUSD: cost, charge: charge), progress: 0), calls)
    }

    /// Runs the specs at most `concurrency` at a time; each success is kept as a step at once.
    private func runAll(_ specs: [Spec]) async -> [Done] {
        guard !specs.isEmpty else { return [] }
        return await withTaskGroup(of: Done.self) { group in
            var results: [Done] = []
            var next = 0
            func launch() {
                let spec = specs[next]
                next += 1
                group.addTask {
                    let request = prompts.step(job.work, model: caller.model, messages: spec.messages, final: spec.final)
                    let (result, call) = await caller.call(request, step: spec.kind.rawValue, index: spec.index)
                    var mapped = result.map { (($0.content ?? "").storable, $0.finishReason?.storable) }
                    if spec.final, let schema, case .success(let (content, reason)) = mapped {
                        // The answer is kept as its JSON (a code fence around it dropped), or not at all.
                        do throws(SchemaViolation) {
                            mapped = .success((try schema.check(content), reason))
                        } catch {
                            return Done(spec: spec, result: mapped, call: call, violation: error)
                        }
                    }
                    if case .success(let (content, _)) = mapped {
                        let step = JobStep(plan: planKey, kind: spec.kind, level: spec.level, index: spec.index, content: content, call: call)
                        try? await steps.recordStep(step, claim: job.claim, reservationNumber: job.reservationNumber)
                    }
                    return Done(spec: spec, result: mapped, call: call)
                }
            }
            while next < min(concurrency, specs.count) { launch() }
            while let done = await group.next() {
                results.append(done)
                if Task.isCancelled {
                    group.cancelAll()
                    continue
                }
                if next < specs.count { launch() }
            }
            return results
        }
    }

    /// A transient chunk failure uses an attempt like any transient failure.
    private func retryableTransient(_ failure: UpstreamFailure) -> UpstreamFailure {
        var failure = failure
        failure.kind = .transient
        return failure
    }

    /// The pages of the chunks a level-0 reduce combines, by chunk index.
    private func pageRanges(_ chunks: [DocumentChunk], _ indexes: [Int]) -> [Int: ClosedRange<Int>] {
        var ranges: [Int: ClosedRange<Int>] = [:]
        for index in indexes where chunks.indices.contains(index) {
            ranges[index] = chunks[index].firstPage...chunks[index].lastPage
        }
        return ranges
    }

    /// `[{chunk, pages: [from, to]}]`, chunks numbered from 1, without those that could not be
    /// analysed.
    static func sources(_ chunks: [DocumentChunk], skipping gaps: Set<Int> = []) -> JSONValue {
        .array(
            chunks.enumerated().filter { !gaps.contains($0.offset) }.map { offset, chunk in
                .object(["chunk": .integer(offset + 1), "pages": .array([.integer(chunk.firstPage), .integer(chunk.lastPage)])])
            }
        )
    }

    private static func key(_ kind: JobStep.Kind, _ level: Int, _ index: Int) -> String {
        "\(kind.rawValue):\(level):\(index)"
    }
}
