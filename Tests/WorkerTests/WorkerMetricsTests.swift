import Foundation
import Logging
import MetricsTesting
import Prometheus
import Redis
import Telemetry
import Testing

@testable import Shared
@testable import Worker

/// The worker's metrics (API.md, "Operations"), each recorded where its event happens, into a
/// factory of the test's own.
@Suite("Worker metrics: settlements, slots, upstream calls, circuits")
struct WorkerMetricsTests {
    static func team(_ team: String) -> (String, String) { (MetricLabel.team, team) }
    static func status(_ status: String) -> (String, String) { (MetricLabel.status, status) }

    @Test("a settled batch counts its ended jobs and credits per team by the batch's totals, and its size once")
    func settlement() async throws {
        let metrics = RecordingMetrics()
        let queue = MemoryJobQueue()
        let store = MemoryJobStore()
        try await queue.enqueue(store.add(3, team: "team-a") + store.add(2, team: "team-b"))
        let claims = try await queue.claim(max: 5, lease: .seconds(30)).claims
        let (marked, _) = try await store.markInProgress(claims, workerID: "w", lease: .seconds(30))
        let settler = Settler(
            jobs: store,
            queue: queue,
            wakeup: ClaimWakeup(),
            logger: Logger(label: "metrics-test"),
            metrics: SettlementMetrics(factory: metrics, teams: TeamLabels(limit: 10))
        )
        let completed = Settlement.Outcome.completed(
            result: .string("ok"),
            usage: TokenUsage(promptTokens: 1, completionTokens: 1),
            costUSD: 0,
            charge: 7
        )
        let results = await withTaskGroup(of: SettleResult?.self) { group in
            for job in marked {
                let outcome = job.teamID == "team-a" ? completed : .failed(code: .invalidRequest, message: "no")
                group.addTask { await settler.settle(Settlement(claim: job.claim, outcome: outcome, calls: [], reachedUpstream: true)) }
            }
            // A delivery that no longer holds its job: nothing ended, nothing charged.
            group.addTask {
                await settler.settle(
                    Settlement(claim: Claim(jobID: marked[0].claim.jobID, token: UUID()), outcome: completed, calls: [], reachedUpstream: true)
                )
            }
            return await group.reduce(into: [SettleResult?]()) { $0.append($1) }
        }
        #expect(results.count == 6)
        #expect(metrics.total(MetricName.jobsFinished, [Self.team("team-a"), Self.status("completed")]) == 3)
        #expect(metrics.total(MetricName.jobsFinished, [Self.team("team-b"), Self.status("failed")]) == 2)
        #expect(metrics.series(MetricName.jobsFinished).count == 2)
        #expect(metrics.total(MetricName.creditsCharged, [Self.team("team-a")]) == 21)
        #expect(metrics.series(MetricName.creditsCharged).count == 1)
        // One histogram value per transaction, summing to the settlements it carried.
        let sizes = metrics.values(MetricName.settlementBatchSize)
        #expect(sizes.count == store.settleCalls)
        #expect(sizes.reduce(0, +) == 6)
    }

    @Test("teams past the bound are summed into `other` before the counters move")
    func boundedTeams() {
        let metrics = RecordingMetrics()
        let settlement = SettlementMetrics(factory: metrics, teams: TeamLabels(limit: 1))
        var tally = SettlementTally()
        tally.ended[.init(teamID: "first", status: .completed)] = 1
        tally.ended[.init(teamID: "second", status: .completed)] = 2
        tally.ended[.init(teamID: "third", status: .completed)] = 3
        tally.charged = ["first": 10, "second": 20, "third": 30]
        settlement.record(batchOf: 6, tally)
        let labels = metrics.series(MetricName.jobsFinished).flatMap(\.dimensions).filter { $0.hasPrefix("team=") }
        #expect(labels.count == 2 && labels.contains("team=other"))
        let own = labels.first { $0 != "team=other" }!.dropFirst("team=".count)
        let ownCount = ["first": 1.0, "second": 2, "third": 3][String(own)]!
        #expect(metrics.total(MetricName.jobsFinished, [Self.team(String(own)), Self.status("completed")]) == ownCount)
        #expect(metrics.total(MetricName.jobsFinished, [Self.team("other"), Self.status("completed")]) == 6 - ownCount)
        #expect(metrics.total(MetricName.creditsCharged, [Self.team("other")]) == 60 - 10 * ownCount)
        #expect(metrics.values(MetricName.settlementBatchSize) == [6])
    }

    @Test("slots: busy and free follow the jobs in flight")
    func slots() async throws {
        let metrics = RecordingMetrics()
        let busy = [(MetricLabel.state, MetricLabel.busy)]
        let free = [(MetricLabel.state, MetricLabel.free)]
        let inFlight = InFlight(capacity: 3, slots: SlotGauges(factory: metrics))
        #expect(metrics.gauge(MetricName.workerSlots, busy) == 0)
        #expect(metrics.gauge(MetricName.workerSlots, free) == 3)
        let release = AsyncStream.makeStream(of: Void.self)
        for _ in 0..<2 {
            inFlight.start(Claim(jobID: UUID(), token: UUID())) {
                for await _ in release.stream { break }
            }
        }
        #expect(metrics.gauge(MetricName.workerSlots, busy) == 2)
        #expect(metrics.gauge(MetricName.workerSlots, free) == 1)
        release.continuation.finish()
        #expect(await inFlight.waitUntilEmpty(timeout: .seconds(5)))
        #expect(metrics.gauge(MetricName.workerSlots, busy) == 0)
        #expect(metrics.gauge(MetricName.workerSlots, free) == 3)
    }

    @Test("upstream status classes: five values, whatever the upstream does")
    func statusClasses() {
        func response(_ status: Int) -> Result<UpstreamResponse, UpstreamFailure> {
            .success(UpstreamResponse(usage: .zero, statusCode: status))
        }
        func failure(_ status: Int?, _ message: String = "boom") -> Result<UpstreamResponse, UpstreamFailure> {
            .failure(UpstreamFailure(kind: .transient, statusCode: status, message: message))
        }
        #expect(UpstreamStatusClass(response(200)) == .success)
        #expect(UpstreamStatusClass(failure(429)) == .clientError)
        #expect(UpstreamStatusClass(failure(400)) == .clientError)
        #expect(UpstreamStatusClass(failure(503)) == .serverError)
        #expect(UpstreamStatusClass(failure(529)) == .serverError)
        #expect(UpstreamStatusClass(.failure(.timedOut)) == .timeout)
        #expect(UpstreamStatusClass(failure(nil, "connection failed (reset)")) == .error)
        // A redirect (never followed) and a 200 whose body could not be read are errors.
        #expect(UpstreamStatusClass(failure(302)) == .error)
        #expect(UpstreamStatusClass(failure(200, "malformed response body")) == .error)
        #expect(Set(UpstreamStatusClass.allCases.map(\.rawValue)) == ["2xx", "4xx", "5xx", "timeout", "error"])
    }

    @Test("upstream calls: counted by class, timed, tokens by kind; labels cut and bounded")
    func upstreamCalls() {
        let metrics = RecordingMetrics()
        let upstream = UpstreamMetrics(factory: metrics, labels: UpstreamLabels(limit: 2))
        let usage = TokenUsage(promptTokens: 12, completionTokens: 5)
        upstream.record(provider: "openai", model: "gpt", duration: .milliseconds(250), .success(UpstreamResponse(usage: usage, statusCode: 200)))
        upstream.record(provider: "openai", model: "gpt", duration: .milliseconds(50), .failure(.timedOut))
        let long = String(repeating: "m", count: 300)
        upstream.record(provider: "anthropic", model: long, duration: .seconds(1), .success(UpstreamResponse(usage: usage, statusCode: 200)))
        upstream.record(provider: "third", model: "x", duration: .seconds(1), .success(UpstreamResponse(usage: usage, statusCode: 200)))
        let gpt = [(MetricLabel.provider, "openai"), (MetricLabel.model, "gpt")]
        #expect(metrics.total(MetricName.upstreamRequests, gpt + [(MetricLabel.statusClass, "2xx")]) == 1)
        #expect(metrics.total(MetricName.upstreamRequests, gpt + [(MetricLabel.statusClass, "timeout")]) == 1)
        #expect(metrics.values(MetricName.upstreamRequestDuration, gpt) == [0.25, 0.05])
        #expect(metrics.total(MetricName.upstreamTokens, gpt + [(MetricLabel.kind, "prompt")]) == 12)
        #expect(metrics.total(MetricName.upstreamTokens, gpt + [(MetricLabel.kind, "completion")]) == 5)
        let cut = [(MetricLabel.provider, "anthropic"), (MetricLabel.model, String(repeating: "m", count: 64))]
        #expect(metrics.total(MetricName.upstreamRequests, cut + [(MetricLabel.statusClass, "2xx")]) == 1)
        let other = [(MetricLabel.provider, "other"), (MetricLabel.model, "other")]
        #expect(metrics.total(MetricName.upstreamRequests, other + [(MetricLabel.statusClass, "2xx")]) == 1)
    }

    @Test("the circuit gauge follows a provider's breaker: open, half-open, closed")
    func circuitGauge() async throws {
        let metrics = RecordingMetrics()
        let url = ProcessInfo.processInfo.environment["TEST_REDIS_URL"] ?? "redis://127.0.0.1:6381/1"
        let redis = RedisClient(configuration: try RedisConfiguration(url: url))
        defer { redis.shutdown() }
        let health = ProviderHealth(
            board: ProviderHealthBoard(redis: redis, queueName: "metrics-\(UUID().uuidString.prefix(8))"),
            audit: NoAudit(),
            failureThreshold: 1,
            openFor: .milliseconds(200),
            logger: Logger(label: "metrics-test"),
            gauges: CircuitGauges(factory: metrics)
        )
        let provider = [(MetricLabel.provider, "p")]
        #expect(await health.admit(provider: "p", model: "m", rpm: nil) == .go)
        #expect(metrics.gauge(MetricName.providerCircuitState, provider) == nil)
        await health.record(provider: "p", model: "m", failure: UpstreamFailure(kind: .transient, statusCode: 503, message: "down"))
        #expect(metrics.gauge(MetricName.providerCircuitState, provider) == 2)
        try await Task.sleep(for: .milliseconds(300))
        #expect(await health.admit(provider: "p", model: "m", rpm: nil) == .probe)
        #expect(metrics.gauge(MetricName.providerCircuitState, provider) == 1)
        await health.record(provider: "p", model: "m", failure: nil)
        #expect(metrics.values(MetricName.providerCircuitState, provider) == [2, 1, 0])
    }

    @Test("in Prometheus' text format: API.md's names, one type and one label set each")
    func prometheusText() async throws {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        let settlement = SettlementMetrics(factory: factory, teams: TeamLabels(limit: 10))
        var tally = SettlementTally()
        tally.ended[.init(teamID: "t", status: .completed)] = 2
        tally.charged["t"] = 5
        settlement.record(batchOf: 2, tally)
        let upstream = UpstreamMetrics(factory: factory)
        upstream.record(
            provider: "p",
            model: "m",
            duration: .milliseconds(20),
            .success(UpstreamResponse(usage: TokenUsage(promptTokens: 3, completionTokens: 4), statusCode: 200))
        )
        upstream.record(provider: "p", model: "m", duration: .seconds(2), .failure(.timedOut))
        CircuitGauges(factory: factory).record(provider: "p", state: CircuitGauges.open)
        _ = InFlight(capacity: 4, slots: SlotGauges(factory: factory))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        for line in [
            #"saas_jobs_finished_total{team="t",status="completed"} 2"#,
            #"saas_credits_charged_total{team="t"} 5"#,
            #"saas_settlement_batch_size_count 1"#,
            #"saas_upstream_requests_total{provider="p",model="m",status_class="2xx"} 1"#,
            #"saas_upstream_requests_total{provider="p",model="m",status_class="timeout"} 1"#,
            #"saas_upstream_request_duration_seconds_count{provider="p",model="m"} 2"#,
            #"saas_upstream_tokens_total{provider="p",model="m",kind="prompt"} 3"#,
            #"saas_upstream_tokens_total{provider="p",model="m",kind="completion"} 4"#,
            #"saas_provider_circuit_state{provider="p"} 2"#,
            #"saas_worker_slots{state="busy"} 0"#,
            #"saas_worker_slots{state="free"} 4"#,
        ] {
            #expect(text.contains(line), "\(line) in\n\(text)")
        }
    }
}

/// An audit store that keeps nothing.
private struct NoAudit: AuditStore {
    func record(actor: String, action: String, target: String?, outcome: String, details: JSONObject) async throws {}
    func recordFailedAuthentications(_ counts: [FailedAuthenticationCount]) async throws {}
    func list(limit: Int, after cursor: String?) async throws -> Page<AuditEvent> { Page(items: [], nextCursor: nil) }
}
