import Foundation
import Shared
import Testing

@testable import Worker

/// The map/reduce over a long document, with its steps in memory and a scripted upstream: which
/// calls are made, which finished steps are reused (per plan), and how failures are decided.
@Suite("DocumentRunner: steps kept per plan, bounded concurrency, failures (no network)")
struct DocumentRunnerTests {
    /// Ten paragraphs of ~200 bytes; with 80 tokens (320 bytes) a chunk, one paragraph each.
    private let document = (1...10).map { "Paragraph \($0). " + String(repeating: "word ", count: 38) + "end." }.joined(separator: "\n\n")
    /// 300 tokens of context, 20 for the answer, none for instructions: 80 a chunk, 4 partials a reduce.
    private let plan = DocumentPlan(documentTokens: 600, instructionTokens: 0, contextTokens: 300, maxTokens: 20)
    private let prompts = PromptBuilder(defaultMaxTokens: 20)

    /// Answers each step by what it was sent (so that two runs agree), or fails the chunk whose
    /// user message contains `failing`.
    private func upstream(failing: String? = nil, as kind: UpstreamFailure.Kind = .transient, delay: Duration = .zero) -> ScriptedUpstream {
        ScriptedUpstream { request in
            if delay > .zero { try? await Task.sleep(for: delay) }
            let text = request.messages.last?.objectValue?["content"]?.stringValue ?? ""
            if let failing, text.contains(failing) {
                return .failure(UpstreamFailure(kind: kind, statusCode: 503, message: "down"))
            }
            return .success(ScriptedUpstream.response("saw \(text.utf8.count) bytes"))
        }
    }

    private func runner(
        _ job: ClaimedJob,
        _ upstream: ScriptedUpstream,
        steps: any StepLog,
        model: String = "m",
        concurrency: Int = 3
    ) -> DocumentRunner {
        DocumentRunner(
            job: job,
            plan: plan,
            caller: CallFixtures.caller(upstream, model: CallFixtures.model(model), jobID: job.claim.jobID),
            steps: steps,
            prompts: prompts,
            concurrency: concurrency
        )
    }

    private var chunkCount: Int { Chunker.split(document, maxBytes: plan.chunkTokens * 4).count }

    private func content(_ outcome: ModelOutcome) -> String? {
        guard case .settle(.completed(let result, _, _, _), _) = outcome else { return nil }
        return result.objectValue?["content"]?.stringValue
    }

    @Test("a finished document keeps every step; a redelivery reuses them all and calls nothing")
    func reuse() async {
        #expect(chunkCount == 10)
        let job = CallFixtures.job(JobWork(document: document, maxTokens: 20))
        let log = MemoryStepLog()
        let first = upstream()
        let (outcome, calls) = await runner(job, first, steps: log).run(document)
        // 10 chunks, then 3 reduce calls of up to 4 partials, then 1 combining those.
        #expect(first.calls == 14)
        #expect(calls.count == 14)
        #expect(log.count == 14)
        let answer = content(outcome)
        #expect(answer != nil)

        let again = upstream()
        let (replayed, replayedCalls) = await runner(job, again, steps: log).run(document)
        #expect(again.calls == 0)
        #expect(content(replayed) == answer)
        #expect(Set(replayedCalls.map(\.callID)) == Set(calls.map(\.callID)), "the kept steps' calls are billed")
    }

    @Test("another model splits the document by another plan and reuses nothing")
    func perPlan() async {
        let job = CallFixtures.job(JobWork(document: document, maxTokens: 20))
        let log = MemoryStepLog()
        _ = await runner(job, upstream(), steps: log, model: "m").run(document)
        let fallback = upstream()
        let run = runner(job, fallback, steps: log, model: "other")
        #expect(run.planKey == "p/other/\(plan.chunkTokens)")
        _ = await run.run(document)
        #expect(fallback.calls == 14)
    }

    @Test("at most DOCUMENT_CONCURRENCY calls at a time", arguments: [1, 2, 5])
    func concurrency(limit: Int) async {
        let job = CallFixtures.job(JobWork(document: document, maxTokens: 20))
        let slow = upstream(delay: .milliseconds(15))
        let (outcome, _) = await runner(job, slow, steps: MemoryStepLog(), concurrency: limit).run(document)
        #expect(content(outcome) != nil)
        #expect(slow.mostRunning <= limit)
        #expect(slow.mostRunning >= 1)
    }

    @Test("a transient chunk failure retries the job using an attempt; its finished siblings are kept and not run again")
    func transientChunk() async {
        let job = CallFixtures.job(JobWork(document: document, maxTokens: 20))
        let log = MemoryStepLog()
        let (outcome, calls) = await runner(job, upstream(failing: "part 4 of"), steps: log).run(document)
        guard case .settle(.retry(_, true, _), let progress) = outcome else {
            Issue.record("a transient chunk failure retries: \(outcome)")
            return
        }
        #expect(progress == 0)
        #expect(calls.count == 10)
        #expect(log.count == 9)

        let healthy = upstream()
        let (finished, _) = await runner(job, healthy, steps: log).run(document)
        #expect(content(finished) != nil)
        #expect(healthy.calls == 1 + 4, "the failed chunk, then the reduce calls")
    }

    @Test("a bad key in a chunk hands the job to the next model")
    func badKeyChunk() async {
        let job = CallFixtures.job(JobWork(document: document, maxTokens: 20))
        guard
            case .nextModel(let failure) = await runner(job, upstream(failing: "part 2 of", as: .badCredentials), steps: MemoryStepLog()).run(
                document
            ).0
        else {
            Issue.record("next model")
            return
        }
        #expect(failure.kind == .badCredentials)
    }

    @Test("a chunk the upstream refuses fails the job, unless partial answers are allowed")
    func refusedChunk() async {
        let strict = CallFixtures.job(JobWork(document: document, maxTokens: 20))
        guard
            case .settle(.failed(let code, let message), _) = await runner(
                strict,
                upstream(failing: "part 2 of", as: .invalidRequest),
                steps: MemoryStepLog()
            ).run(document).0
        else {
            Issue.record("failed")
            return
        }
        #expect(code == .invalidRequest)
        #expect(message.hasPrefix("part 2 of 10 failed: "))

        let lenient = CallFixtures.job(JobWork(document: document, maxTokens: 20, allowPartial: true))
        guard
            case .settle(.completed(let result, _, _, _), _) = await runner(
                lenient,
                upstream(failing: "part 2 of", as: .invalidRequest),
                steps: MemoryStepLog()
            ).run(document).0
        else {
            Issue.record("partial")
            return
        }
        #expect(result.objectValue?["partial"] == .bool(true))
        #expect(result.objectValue?["missing_parts"] == .array([.integer(2)]))
    }

    @Test("finished steps that cannot be read are a transient failure: the job comes back, using an attempt")
    func unreadableSteps() async {
        let job = CallFixtures.job(JobWork(document: document, maxTokens: 20))
        let never = upstream()
        let (outcome, calls) = await runner(job, never, steps: MemoryStepLog(failing: true)).run(document)
        guard case .settle(.retry(_, true, _), _) = outcome else {
            Issue.record("retry")
            return
        }
        #expect(calls.isEmpty && never.calls == 0)
    }
}
