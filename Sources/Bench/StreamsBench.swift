import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ProcessLimits
import Synchronization

/// `saas-bench streams`: N concurrent `POST /api/jobs/create-and-call-stream` requests of one
/// team, each on its own connection, read as server-sent events as they arrive: the client of
/// `scripts/bench-calls.sh`'s streaming phase (issue 10: first delta to the client ≤ 5 ms at 500
/// streams).
///
/// With the mock's `stream_stamp` knob on, a streamed answer's first delta is
/// `[t=<µs since the epoch when the mock wrote it>] `; the figure is this client's wall clock when
/// the body chunk holding that event arrived minus the stamp — on one machine one clock, so the
/// difference is the way from the upstream through the worker, Redis and the API to the client.
/// Every stream must end with `event: done`; one that ends otherwise is counted by kind, never
/// retried. The connections are opened first (one `GET /health` each, not counted), so the
/// figures leave out TCP set-up; percentiles are exact (``LatencyHistogram``).
struct StreamsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "Open N concurrent create-and-call streams for one team; time each first delta from the mock's stamp."
    )

    @Option(help: "The API's base URL.")
    var url: String = "http://127.0.0.1:8103"

    @Option(help: "Streams in all.")
    var streams: Int = 500

    @Option(help: "Streams open at once, each on a connection of its own (default: all of them; 1 gives the unloaded reference).")
    var concurrency: Int?

    @Option(
        help: "Milliseconds between two streams' requests (0: all at once), so that a run can open its streams over a while instead of in one burst."
    )
    var rampMs: Int = 0

    /// The streams open at once.
    var clients: Int { min(concurrency ?? streams, streams) }

    @Option(help: "team_id of every call.")
    var team: String

    @Option(help: "The team's virtual key, sent as a Bearer token.")
    var key: String

    @Option(help: "The model group every call names.")
    var model: String

    @Option(help: "The user message (the mock's answer quotes its first 40 characters, a delta per word).")
    var message: String = "a b c d e f g h i j k l m n o p q r s t u v w x y z"

    @Option(help: "Seconds a stream may take from its request to its end.")
    var timeout: Int = 300

    func validate() throws {
        guard streams >= 1 else { throw ValidationError("--streams must be at least 1") }
        guard (concurrency ?? 1) >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard timeout >= 1 else { throw ValidationError("--timeout must be at least 1") }
        guard rampMs >= 0 else { throw ValidationError("--ramp-ms must be 0 or more") }
    }

    var streamRequest: HTTPClientRequest {
        var request = HTTPClientRequest(url: url + "/api/jobs/create-and-call-stream")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "text/event-stream")
        request.body = .bytes(
            Array(
                ("{\"team_id\":\(jsonString(team)),\"job_type\":\"chat\",\"model\":\(jsonString(model)),"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\(jsonString(message))}]}").utf8
            )
        )
        return request
    }

    /// Streams open at once (answered 200, not yet ended), and the most there were.
    private final class OpenStreams: Sendable {
        let now = Atomic<Int>(0)
        let most = Atomic<Int>(0)

        func opened() {
            let count = now.add(1, ordering: .relaxed).newValue
            _ = most.max(count, ordering: .relaxed)
        }

        func closed() { now.subtract(1, ordering: .relaxed) }
    }

    func run() async throws {
        FileDescriptorLimit.raise()
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = clients
        configuration.timeout.connect = .seconds(30)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let outcome: Result<Void, any Error>
        do {
            try await openConnections(client)
            let open = OpenStreams()
            let started = ContinuousClock.now
            let request = streamRequest
            let ramp = Duration.milliseconds(rampMs)
            let tally = await LoadRunner.run(clients: clients, total: streams) { (index, tally: inout StreamTally) in
                if rampMs > 0 { try? await Task.sleep(until: started + ramp * index, clock: .continuous) }
                await stream(client, request, open: open, into: &tally)
            }
            let elapsed = started.duration(to: .now)
            report(tally, mostOpen: open.most.load(ordering: .relaxed), seconds: Self.seconds(elapsed))
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        try await client.shutdown()
        try outcome.get()
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// One `GET /health` per connection, all at once (``JobsBench`` does the same).
    private func openConnections(_ client: HTTPClient) async throws {
        let request = HTTPClientRequest(url: url + "/health")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    let response = try await client.execute(request, timeout: .seconds(30))
                    _ = try await response.body.collect(upTo: 1 << 20)
                }
            }
            try await group.waitForAll()
        }
    }

    /// The `data` of a delta event.
    private struct Delta: Decodable {
        var delta: String
    }

    /// One stream from its request to its end, counted in `tally`.
    private func stream(_ client: HTTPClient, _ request: HTTPClientRequest, open: OpenStreams, into tally: inout StreamTally) async {
        tally.streams += 1
        let sent = ContinuousClock.now
        let decoder = JSONDecoder()
        do {
            let response = try await client.execute(request, timeout: .seconds(Int64(timeout)))
            guard response.status == .ok else {
                let body = try? await response.body.collect(upTo: 1 << 16)
                tally.failed("status_\(response.status.code)", body.map { String(buffer: $0) } ?? "")
                return
            }
            open.opened()
            defer { open.closed() }
            var parser = SSEParser()
            var sawDelta = false
            var ending: String?  // "done", or why the stream failed
            for try await chunk in response.body {
                let arrived = ProcessClock.wallSeconds()
                let arrivedClock = ContinuousClock.now
                for event in parser.feed(chunk.readableBytesView) where ending == nil {
                    switch event.event {
                    case nil, "message":
                        tally.deltas += 1
                        guard !sawDelta else { continue }
                        sawDelta = true
                        tally.firstEvent.record(sent.duration(to: arrivedClock))
                        let text = try decoder.decode(Delta.self, from: Data(event.data.utf8)).delta
                        guard let stamp = Self.stampMicroseconds(text) else {
                            ending = "no_stamp"
                            tally.failed("no_stamp", "first delta \(text.debugDescription): is the mock's stream_stamp on?")
                            continue
                        }
                        let microseconds = Int64((arrived * 1_000_000).rounded()) - stamp
                        if microseconds < 0 { tally.negativeStamps += 1 }
                        tally.firstDelta.record(.microseconds(max(0, microseconds)))
                        if let appended = event.id.flatMap(Self.entryMilliseconds) {
                            tally.toRedis.record(.microseconds(max(0, appended * 1000 - stamp)))
                            tally.fromRedis.record(.microseconds(max(0, Int64((arrived * 1_000_000).rounded()) - appended * 1000)))
                        }
                    case "reset":
                        tally.resets += 1
                    case "done":
                        ending = "done"
                        tally.completed += 1
                        tally.whole.record(sent.duration(to: arrivedClock))
                    case "error":
                        ending = "error_event"
                        tally.failed("error_event", event.data)
                    default:
                        continue
                    }
                }
            }
            if ending == nil { tally.failed("no_done", "the stream ended without event: done (\(sawDelta ? "after" : "before") its first delta)") }
        } catch {
            tally.failed("transport", String(describing: error))
        }
    }

    /// The microseconds of a `[t=<µs>] ` stamp at the start of a delta; nil when there is none.
    static func stampMicroseconds(_ text: String) -> Int64? {
        guard text.hasPrefix("[t="), let end = text.firstIndex(of: "]") else { return nil }
        return Int64(text[text.index(text.startIndex, offsetBy: 3)..<end])
    }

    /// The milliseconds of a Redis stream entry id (`<ms>-<seq>`); nil when it is not one.
    static func entryMilliseconds(_ id: String) -> Int64? {
        guard let dash = id.firstIndex(of: "-") else { return nil }
        return Int64(id[..<dash])
    }

    private func report(_ tally: StreamTally, mostOpen: Int, seconds: Double) {
        let microseconds: (LatencyHistogram, Double) -> ReportValue = { histogram, p in
            histogram.percentileMilliseconds(p).map { .int(Int(($0 * 1000).rounded())) } ?? .string(nil)
        }
        let milliseconds: (LatencyHistogram, Double) -> ReportValue = { histogram, p in
            histogram.percentileMilliseconds(p).map { .number($0, places: 2) } ?? .string(nil)
        }
        BenchReport(
            bench: "streams",
            op: "create-and-call-stream",
            clients: clients,
            pool: clients,
            extra: [("ramp_ms", .int(rampMs))],
            result: LoadResult(ops: tally.completed, seconds: seconds),
            figures: [
                ("streams", .int(tally.streams)),
                ("completed", .int(tally.completed)),
                ("errors", .counts(tally.errors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })),
                ("first_error", .string(tally.firstError)),
                ("most_open", .int(mostOpen)),
                ("deltas", .int(tally.deltas)),
                ("resets", .int(tally.resets)),
                ("stamped", .int(tally.firstDelta.count)),
                ("negative_stamps", .int(tally.negativeStamps)),
                ("first_delta_us_p50", microseconds(tally.firstDelta, 0.50)),
                ("first_delta_us_p90", microseconds(tally.firstDelta, 0.90)),
                ("first_delta_us_p99", microseconds(tally.firstDelta, 0.99)),
                ("first_delta_us_max", microseconds(tally.firstDelta, 1.0)),
                ("to_redis_ms_p50", milliseconds(tally.toRedis, 0.50)),
                ("to_redis_ms_p99", milliseconds(tally.toRedis, 0.99)),
                ("from_redis_ms_p50", milliseconds(tally.fromRedis, 0.50)),
                ("from_redis_ms_p99", milliseconds(tally.fromRedis, 0.99)),
                ("first_event_ms_p50", milliseconds(tally.firstEvent, 0.50)),
                ("first_event_ms_p99", milliseconds(tally.firstEvent, 0.99)),
                ("done_ms_p50", milliseconds(tally.whole, 0.50)),
                ("done_ms_p99", milliseconds(tally.whole, 0.99)),
                ("client_cpu_s", .number(ProcessClock.cpuSeconds(), places: 2)),
            ]
        ).print()
    }
}
