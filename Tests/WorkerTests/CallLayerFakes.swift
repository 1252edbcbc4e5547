import Backoff
import Foundation
import Synchronization

@testable import Shared
@testable import Worker

/// An upstream answering from a closure, counting its calls and how many ran at once.
final class ScriptedUpstream: Upstream {
    private let answer: @Sendable (UpstreamRequest) async -> Result<UpstreamResponse, UpstreamFailure>
    private let state = Mutex<(calls: Int, running: Int, mostRunning: Int)>((0, 0, 0))

    init(_ answer: @escaping @Sendable (UpstreamRequest) async -> Result<UpstreamResponse, UpstreamFailure>) {
        self.answer = answer
    }

    var calls: Int { state.withLock { $0.calls } }
    var mostRunning: Int { state.withLock { $0.mostRunning } }

    func complete(_ request: UpstreamRequest, at endpoint: UpstreamEndpoint) async throws(UpstreamFailure) -> UpstreamResponse {
        state.withLock { state in
            state.calls += 1
            state.running += 1
            state.mostRunning = max(state.mostRunning, state.running)
        }
        defer { state.withLock { $0.running -= 1 } }
        switch await answer(request) {
        case .success(let response): return response
        case .failure(let failure): throw failure
        }
    }

    static func response(
        _ content: String,
        statusCode: Int = 200,
        usage: TokenUsage = TokenUsage(promptTokens: 10, completionTokens: 5),
        requestID: String? = "req-1",
        exhaustedFor: Duration? = nil
    ) -> UpstreamResponse {
        UpstreamResponse(
            content: content,
            finishReason: "stop",
            toolCalls: nil,
            usage: usage,
            requestID: requestID,
            statusCode: statusCode,
            exhaustedFor: exhaustedFor
        )
    }
}

/// A providers' health that admits as told and remembers what it was asked and told.
final class RecordingHealth: UpstreamHealth {
    struct Admit: Sendable, Equatable {
        var provider: String, model: String, rpm: Int?, tpm: Int?, tokens: Int, probeDeadline: Duration
    }
    struct Record: Sendable {
        var provider: String, model: String, failure: UpstreamFailure?, rateLimitExhausted: Duration?
    }

    private let answer: ProviderHealth.Admission
    private let state = Mutex<(admits: [Admit], records: [Record], releases: [String])>(([], [], []))

    init(admitting answer: ProviderHealth.Admission = .go) {
        self.answer = answer
    }

    var admits: [Admit] { state.withLock { $0.admits } }
    var records: [Record] { state.withLock { $0.records } }
    var releases: [String] { state.withLock { $0.releases } }

    func admit(provider: String, model: String, rpm: Int?, tpm: Int?, tokens: Int, probeDeadline: Duration) async -> ProviderHealth.Admission {
        state.withLock { $0.admits.append(Admit(provider: provider, model: model, rpm: rpm, tpm: tpm, tokens: tokens, probeDeadline: probeDeadline)) }
        return answer
    }

    func record(provider: String, model: String, failure: UpstreamFailure?, rateLimitExhausted: Duration?) async {
        state.withLock { $0.records.append(Record(provider: provider, model: model, failure: failure, rateLimitExhausted: rateLimitExhausted)) }
    }

    func releaseProbe(provider: String) {
        state.withLock { $0.releases.append(provider) }
    }
}

/// `job_steps` in memory, keyed like the table: job, reservation, plan.
final class MemoryStepLog: StepLog {
    private let kept = Mutex<[String: [JobStep]]>([:])
    private let failing: Bool

    init(failing: Bool = false) {
        self.failing = failing
    }

    var count: Int { kept.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    func steps(_ jobID: UUID, reservationNumber: Int, plan: String) async throws -> [JobStep] {
        if failing { throw CancellationError() }
        return kept.withLock { $0["\(jobID)/\(reservationNumber)/\(plan)"] ?? [] }
    }

    func recordStep(_ step: JobStep, claim: Claim, reservationNumber: Int) async throws {
        kept.withLock { $0["\(claim.jobID)/\(reservationNumber)/\(step.plan)", default: []].append(step) }
    }
}

enum CallFixtures {
    static let endpoint = UpstreamEndpoint(
        provider: "p",
        kind: .openai,
        baseURL: "http://127.0.0.1:1",
        apiKey: "plainsecretvalue",
        timeout: .seconds(30),
        rpm: 60,
        tpm: 9000
    )

    static func model(_ name: String = "m") -> ModelEntry {
        ModelEntry(modelName: name, provider: "p", priority: 1, inputPricePerMillion: 1, outputPricePerMillion: 2, contextTokens: 1000)
    }

    static func job(_ work: JobWork, attempts: Int = 0) -> ClaimedJob {
        ClaimedJob(
            claim: Claim(jobID: UUID(), token: UUID()),
            teamID: "team",
            modelGroup: "group",
            work: work,
            billing: BillingSettings(),
            creditsReserved: 100,
            reservationNumber: 1,
            attempts: attempts,
            expiresAt: Date().addingTimeInterval(3600)
        )
    }

    static func caller(
        _ upstream: any Upstream,
        health: any UpstreamHealth = RecordingHealth(),
        model: ModelEntry = model(),
        maxAttempts: Int = 3,
        attempt: Int = 1,
        jobID: UUID = UUID()
    ) -> UpstreamCaller {
        UpstreamCaller(
            upstream: upstream,
            endpoint: endpoint,
            model: model,
            health: health,
            retry: RetryPolicy(base: .seconds(1), cap: .seconds(8), maxAttempts: maxAttempts),
            jobID: jobID,
            attempt: attempt
        )
    }
}
