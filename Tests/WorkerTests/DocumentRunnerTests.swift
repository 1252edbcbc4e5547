import Foundation
import Shared
import Synchronization
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
            concurrency: concurrency,
            schema: job.work.responseSchema
        )
    }

    /// Notes for every step but the final one, which answers `finals` in turn (the last again
    /// when they run out); the final call is the one sent a `response_format`.
    private func schemaUpstream(finals: [String]) -> (ScriptedUpstream, @Sendable () -> [Bool]) {
        let sent = Mutex<[Bool]>([])
        let upstream = ScriptedUpstream { request in
            guard request.responseFormat != nil else { return .success(ScriptedUpstream.response("notes")) }
            let index = sent.withLock {
                $0.append(true)
                return $0.count - 1
            }
            return .success(ScriptedUpstream.response(finals[min(index, finals.count - 1)]))
        }
        return (upstream, { sent.withLock { $0 } })
    }

    private static let schemaFormat: JSONValue = .object([
        "type": .string("json_schema"),
        "json_schema": .object([
            "name": .string("figures"),
            "schema": .object([
                "type": .string("object"),
                "properties": .object(["total": .object(["type": .string("number")])]),
                "required": .array([.string("total")]),
                "additionalProperties": .bool(false),
            ]),
        ]),
    ])

    @Test("a final answer off its schema is asked for once more; the second fits and is kept as its JSON")
    func schemaRetry() async {
        let job = CallFixtures.job(JobWork(document: document, maxTokens: 20, responseFormat: Self.schemaFormat))
        let (upstream, finals) = schemaUpstream(finals: ["{\"total\": \"many\"}", "```json\n{\"total\": 12}\n```"])
        let log = MemoryStepLog()
        let (outcome, calls) = await runner(job, upstream, steps: log).run(document)
        #expect(finals().count == 2, "the map and intermediate steps were sent no response_format")
        #expect(content(outcome) == "{\"total\": 12}")
        #expect(calls.count == 15, "14 steps and the rejected final answer")
        guard case .settle(.completed(_, let usage, _, _), _) = outcome else { return }
        #expect(usage.totalTokens == 15 * 15, "the rejected answer's tokens were spent for the job: billed")
    }

    @Test("two final answers off the schema fail the job as invalid_output; the rejected answers are not kept as steps")
    func schemaTwice() async {
        let job = CallFixtures.job(JobWork(document: document, maxTokens: 20, responseFormat: Self.schemaFormat))
        let (upstream, finals) = schemaUpstream(finals: ["not json", "{\"total\": 1, \"extra\": true}"])
        let log = MemoryStepLog()
        let (outcome, _) = await runner(job, upstream, steps: log).run(document)
        #expect(finals().count == 2)
        guard case .settle(.failed(let code, let message), _) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(code == .invalidOutput)
        #expect(message.contains("extra"), "the message names the violation: \(message)")
        #expect(log.count == 13, "10 chunks and 3 intermediate reduces kept; no final step")
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

extension DocumentRunner {
    /// A document sent as JSON text: one unmarked page, cut as the job runner cuts it.
    fileprivate func run(_ text: String) async -> (ModelOutcome, [JobCall]) {
        await run(Chunker.chunks(DocumentText(pages: [text], showsPages: false), maxBytes: plan.chunkTokens * 4))
    }
}
