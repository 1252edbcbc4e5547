import Foundation
import Shared
import Testing

@testable import Worker

@Suite("UpstreamCaller: one call and the per-model decisions, without a network")
struct UpstreamCallerTests {
    private let request = UpstreamRequest(model: "m", messages: [], maxTokens: 100)
    private let never = ScriptedUpstream { _ in .failure(UpstreamFailure(kind: .transient, statusCode: nil, message: "not called")) }

    private func failure(_ kind: UpstreamFailure.Kind, retryAfter: Duration? = nil) -> UpstreamFailure {
        UpstreamFailure(kind: kind, statusCode: 500, message: "boom", retryAfter: retryAfter, requestID: "req-9")
    }

    @Test("bad keys, spent quotas and contexts too long go to the next model")
    func nextModel() {
        let caller = CallFixtures.caller(never)
        for kind in [UpstreamFailure.Kind.badCredentials, .quotaExhausted, .contextTooLong] {
            guard case .nextModel(let failure) = caller.decide(failure(kind)) else {
                Issue.record("\(kind) should fall back")
                continue
            }
            #expect(failure.kind == kind)
        }
    }

    @Test("a 429 waits for its Retry-After, else the backoff, without using an attempt — even on the last attempt")
    func rateLimited() {
        let last = CallFixtures.caller(never, maxAttempts: 3, attempt: 3)
        guard case .settle(.retry(let delay, let counts, let message), let progress) = last.decide(failure(.rateLimited, retryAfter: .seconds(7)))
        else {
            Issue.record("a 429 goes back to the queue")
            return
        }
        #expect(delay == .seconds(7))
        #expect(!counts)
        #expect(progress == nil)
        #expect(message == failure(.rateLimited).tenantMessage)
        guard case .settle(.retry(let backoff, false, _), _) = last.decide(failure(.rateLimited)) else {
            Issue.record("a 429 without Retry-After goes back to the queue")
            return
        }
        #expect(backoff >= .zero && backoff <= .seconds(4), "attempt 3: full jitter under min(8 s, 1 s·2²)")
    }

    @Test("a transient failure uses an attempt until MAX_ATTEMPTS, then goes to the next model")
    func transient() {
        guard case .settle(.retry(let delay, true, _), nil) = CallFixtures.caller(never, maxAttempts: 3, attempt: 1).decide(failure(.transient))
        else {
            Issue.record("attempt 1 of 3 retries")
            return
        }
        #expect(delay <= .seconds(1))
        guard
            case .settle(.retry(let after, true, _), nil) = CallFixtures.caller(never, maxAttempts: 3, attempt: 2).decide(
                failure(.transient, retryAfter: .seconds(3))
            )
        else {
            Issue.record("attempt 2 of 3 retries")
            return
        }
        #expect(after == .seconds(3), "an upstream's Retry-After wins over the backoff")
        guard case .nextModel = CallFixtures.caller(never, maxAttempts: 3, attempt: 3).decide(failure(.transient)) else {
            Issue.record("attempt 3 of 3 falls back")
            return
        }
    }

    @Test("a bad request fails the job")
    func invalidRequest() {
        guard case .settle(.failed(let code, let message), nil) = CallFixtures.caller(never).decide(failure(.invalidRequest)) else {
            Issue.record("a bad request fails")
            return
        }
        #expect(code == .invalidRequest)
        #expect(message == failure(.invalidRequest).tenantMessage)
    }

    @Test("admission asks the health about this provider and model, with the endpoint's budgets and a probe deadline past its timeout")
    func admission() async {
        let health = RecordingHealth(admitting: .wait(.seconds(2)))
        let caller = CallFixtures.caller(never, health: health)
        #expect(await caller.admit(tokens: 321) == .wait(.seconds(2)))
        #expect(health.admits == [.init(provider: "p", model: "m", rpm: 60, tpm: 9000, tokens: 321, probeDeadline: .seconds(35))])
        caller.releaseProbe()
        #expect(health.releases == ["p"])
        #expect(never.calls == 0)
    }

    @Test("a success is recorded with its numbers and cost, and tells the health (with any rate-limit exhaustion)")
    func success() async {
        let health = RecordingHealth()
        let upstream = ScriptedUpstream { _ in
            .success(
                ScriptedUpstream.response(
                    "fine",
                    statusCode: 201,
                    usage: TokenUsage(promptTokens: 1_000_000, completionTokens: 500_000),
                    requestID: "r-1",
                    exhaustedFor: .seconds(9)
                )
            )
        }
        let jobID = UUID()
        let caller = CallFixtures.caller(upstream, health: health, attempt: 2, jobID: jobID)
        let (result, call) = await caller.call(request, step: "chunk", index: 4)
        guard case .success(let response) = result else {
            Issue.record("a success")
            return
        }
        #expect(response.content == "fine")
        #expect(call.jobID == jobID && call.step == "chunk" && call.stepIndex == 4 && call.attempt == 2)
        #expect(call.model == "m" && call.provider == "p")
        #expect(call.statusCode == 201 && call.upstreamRequestID == "r-1" && call.errorClass == nil && call.error == nil)
        #expect(call.usage == TokenUsage(promptTokens: 1_000_000, completionTokens: 500_000))
        #expect(call.costUSD == 2, "1 M prompt tokens at 1 $ + 0.5 M completion tokens at 2 $")
        #expect(health.records.count == 1)
        #expect(health.records.first?.failure == nil && health.records.first?.rateLimitExhausted == .seconds(9))
    }

    @Test("a failure is recorded by class, with the provider's key redacted, and tells the health")
    func failureRecorded() async {
        let health = RecordingHealth()
        let upstream = ScriptedUpstream { _ in
            .failure(UpstreamFailure(kind: .badCredentials, statusCode: 401, message: "key plainsecretvalue is wrong", requestID: "r-2"))
        }
        let (result, call) = await CallFixtures.caller(upstream, health: health).call(request, step: "single", index: 0)
        guard case .failure(let failure) = result else {
            Issue.record("a failure")
            return
        }
        #expect(failure.kind == .badCredentials)
        #expect(call.statusCode == 401 && call.upstreamRequestID == "r-2" && call.errorClass == "bad_credentials")
        #expect(call.error == "key [redacted] is wrong")
        #expect(call.usage == .zero && call.costUSD == 0)
        #expect(health.records.map { $0.failure?.kind } == [.badCredentials])
    }

    @Test("an answer far past max_tokens is a transient failure, and the health hears of it")
    func overlong() async {
        let health = RecordingHealth()
        let upstream = ScriptedUpstream { _ in .success(ScriptedUpstream.response(String(repeating: "x", count: 70_000))) }
        let (result, call) = await CallFixtures.caller(upstream, health: health).call(
            UpstreamRequest(model: "m", messages: [], maxTokens: 1),
            step: "single",
            index: 0
        )
        guard case .failure(let failure) = result else {
            Issue.record("refused")
            return
        }
        #expect(failure.kind == .transient)
        #expect(call.errorClass == "transient")
        #expect(health.records.map { $0.failure?.kind } == [.transient])
    }

    @Test("a call cut short by a cancel says nothing about the provider")
    func cancelled() async {
        let health = RecordingHealth()
        let upstream = ScriptedUpstream { _ in
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
            return .failure(UpstreamFailure(kind: .transient, statusCode: nil, message: "cancelled"))
        }
        let caller = CallFixtures.caller(upstream, health: health)
        let request = request
        let task = Task { await caller.call(request, step: "single", index: 0) }
        while upstream.calls == 0 { try? await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        let (result, call) = await task.value
        guard case .failure = result else {
            Issue.record("a failure")
            return
        }
        #expect(call.errorClass == "transient")
        #expect(health.records.isEmpty)
    }
}
