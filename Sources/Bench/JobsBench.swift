import ArgumentParser
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import ProcessLimits

/// `saas-bench jobs`: submits a fixed number of chat jobs for one team through
/// `POST /api/jobs/create` over keep-alive connections, each connection sending its next request
/// as soon as the last one was answered: the client of `scripts/bench-jobs.sh`'s end-to-end and
/// slow-upstream phases.
///
/// It measures what the python asyncio client it replaced measured, so the figures stay
/// comparable: the connections are open before the first job is sent (one `GET /health` each,
/// not counted), a latency runs from sending a request to its whole answer, a failed request is
/// counted and never retried (it may have created a job), and the percentiles are exact.
struct JobsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Submit N chat jobs for one team over keep-alive connections."
    )

    @Option(help: "The API's base URL.")
    var url: String = "http://127.0.0.1:8103"

    @Option(help: "Jobs to submit, one request each.")
    var jobs: Int

    @Option(help: "Keep-alive connections, each with one request in flight.")
    var connections: Int = 64

    @Option(help: "team_id of every job.")
    var team: String

    @Option(help: "The team's virtual key, sent as a Bearer token.")
    var key: String

    @Option(help: "The model group every job names.")
    var model: String

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard connections >= 1 else { throw ValidationError("--connections must be at least 1") }
    }

    /// The python client's body, byte for byte (`json.dumps` separators).
    var body: [UInt8] {
        Array(
            ("{\"team_id\": \(jsonString(team)), \"job_type\": \"chat\", \"model\": \(jsonString(model)), "
                + "\"messages\": [{\"role\": \"user\", \"content\": \"hello\"}]}").utf8
        )
    }

    var submitRequest: HTTPClientRequest {
        var request = HTTPClientRequest(url: url + "/api/jobs/create")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        return request
    }

    func run() async throws {
        FileDescriptorLimit.raise()
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let outcome: Result<RequestTally, any Error>
        do {
            try await openConnections(client)
            let started = ContinuousClock.now
            let tally = await submit(client)
            let elapsed = started.duration(to: .now)
            outcome = .success(tally)
            report(tally, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        } catch {
            outcome = .failure(error)
        }
        try await client.shutdown()
        _ = try outcome.get()
    }

    /// One `GET /health` per connection, all at once, so that no measured request pays for a
    /// connection's set-up (the python client connected before it took a request's time).
    private func openConnections(_ client: HTTPClient) async throws {
        let request = HTTPClientRequest(url: url + "/health")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<connections {
                group.addTask {
                    let response = try await client.execute(request, timeout: .seconds(30))
                    _ = try await response.body.collect(upTo: 1 << 20)
                }
            }
            try await group.waitForAll()
        }
    }

    private func submit(_ client: HTTPClient) async -> RequestTally {
        let request = submitRequest
        return await LoadRunner.run(clients: connections, total: jobs) { (_, tally: inout RequestTally) in
            let sent = ContinuousClock.now
            tally.sent(at: ProcessClock.wallSeconds())
            do {
                let response = try await client.execute(request, timeout: .seconds(120))
                _ = try await response.body.collect(upTo: 1 << 20)
                tally.answered(status: Int(response.status.code), latency: sent.duration(to: .now), at: ProcessClock.wallSeconds())
            } catch {
                tally.failed(error)
            }
        }
    }

    private func report(_ tally: RequestTally, seconds: Double) {
        let milliseconds: (Double) -> ReportValue = { p in
            tally.latencies.percentileMilliseconds(p).map { .number($0, places: 2) } ?? .string(nil)
        }
        let epoch: (Double?) -> ReportValue = { $0.map { .number($0, places: 6) } ?? .string(nil) }
        BenchReport(
            bench: "jobs",
            op: "submit",
            clients: connections,
            pool: connections,
            result: LoadResult(ops: jobs, seconds: seconds),
            figures: [
                ("statuses", .counts(tally.statuses.sorted { $0.key < $1.key }.map { (String($0.key), $0.value) })),
                ("succeeded", .int(tally.succeeded)),
                ("errors", .int(tally.errors)),
                ("first_error", .string(tally.firstError)),
                ("first_send", epoch(tally.firstSend)),
                ("last_answer", epoch(tally.lastAnswer)),
                ("p50_ms", milliseconds(0.50)),
                ("p99_ms", milliseconds(0.99)),
                ("client_cpu_s", .number(ProcessClock.cpuSeconds(), places: 2)),
            ]
        ).print()
    }
}
