import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationCompat
import Postgres
import Shared
import Synchronization
import Testing

/// A webhook receiver in the test process, on 127.0.0.1 and a free port: it keeps what it is
/// sent and answers the `n`th request (from 0) after the script's delay with its status.
final class E2EWebhookReceiver: Sendable {
    struct Received: Sendable {
        var headers: [String: String]
        var body: [UInt8]
    }

    private final class Log: Sendable {
        let received = Mutex<[Received]>([])
        let port = Atomic<Int>(0)
    }

    private let log: Log
    private let task: Task<Void, any Error>

    var port: Int { log.port.load(ordering: .acquiring) }
    var url: String { "http://127.0.0.1:\(port)/hook" }
    var requests: [Received] { log.received.withLock { $0 } }

    init(_ script: @escaping @Sendable (_ n: Int) -> (delay: Duration, status: Int)) async throws {
        let log = Log()
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let n = log.received.withLock { all in
                all.append(Received(headers: headers, body: Array(buffer: body)))
                return all.count - 1
            }
            let (delay, status) = script(n)
            if delay > .zero { try await Task.sleep(for: delay) }
            return Response(status: .init(code: status))
        }
        var logger = Logger(label: "e2e-webhook-receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in log.port.store(channel.localAddress?.port ?? 0, ordering: .releasing) },
            logger: logger
        )
        self.log = log
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        let deadline = ContinuousClock.now + .seconds(10)
        while log.port.load(ordering: .acquiring) == 0 {
            guard ContinuousClock.now < deadline else { throw HarnessError.timeout("the webhook receiver did not start") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until `count` requests arrived.
    func waitForRequests(_ count: Int, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while requests.count < count {
            guard ContinuousClock.now < deadline else { throw HarnessError.timeout("\(requests.count) of \(count) webhook requests arrived") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

extension EndToEnd {
    /// Short retries, polls and timeouts, so that a test sees several attempts.
    static let webhookWorkerEnvironment = [
        "WEBHOOK_RETRY_BASE_MS": "200", "WEBHOOK_POLL_MS": "100", "WEBHOOK_TIMEOUT_SECONDS": "1",
    ]

    /// Registers the team's endpoint through the API; returns its secret.
    func registerWebhook(_ client: any TestClientProtocol, _ team: TestTeam, url: String) async throws -> String {
        let body = #"{"url":"\#(url)","events":["job.completed","job.failed"]}"#
        return try await client.execute(
            uri: "/api/teams/\(team.teamID)/webhook",
            method: .put,
            headers: [.authorization: "Bearer \(team.key)"],
            body: ByteBuffer(string: body)
        ) { response in
            #expect(response.status == .ok)
            let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
            return try #require(json?["secret"] as? String)
        }
    }

    /// Checks a received delivery's signature with the endpoint's secret; returns its JSON body.
    func verified(_ request: E2EWebhookReceiver.Received, secret: String) throws -> [String: Any] {
        let id = try #require(request.headers["webhook-id"])
        let timestamp = try #require(request.headers["webhook-timestamp"].flatMap { Int($0) })
        let signature = try #require(request.headers["webhook-signature"])
        #expect(request.headers["content-type"] == "application/json")
        #expect(
            WebhookSignature.verify(
                id: id,
                timestamp: timestamp,
                body: request.body,
                signatureHeader: signature,
                secret: secret,
                now: Int(Date().timeIntervalSince1970)
            )
        )
        return try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
    }

    @Test("a completed job's webhook reaches the team's endpoint, signed with its secret")
    func webhookDelivered() async throws {
        let mock = try await MockUpstream(name: "mock-webhook")
        defer { Task { await mock.stop() } }
        let receiver = try await E2EWebhookReceiver { _ in (.zero, 200) }
        defer { Task { await receiver.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            let secret = try await registerWebhook(client, team, url: receiver.url)
            let worker = try await ManagedProcess.worker("worker-webhook", environment: Self.webhookWorkerEnvironment)
            defer { Task { await worker.stop() } }
            let (status, submitted) = try await Fixture.submit(client, team)
            #expect(status == .accepted)
            let jobID = try #require(submitted["job_id"] as? String)
            // An opted-out job sends nothing.
            let (_, quiet) = try await Fixture.submit(client, team, extra: #","webhook":false"#)
            let quietID = try #require(quiet["job_id"] as? String)
            try await Fixture.waitForJobs(postgres, [jobID, quietID], timeout: .seconds(30))
            try await receiver.waitForRequests(1, timeout: .seconds(15))

            let request = try #require(receiver.requests.first)
            let event = try verified(request, secret: secret)
            #expect(event["type"] as? String == "job.completed")
            let data = event["data"] as? [String: Any]
            #expect(data?["job_id"] as? String == jobID)
            #expect(data?["status"] as? String == "completed")
            #expect(data?["credits_charged"] as? Int == 1)
            let row = try #require(
                try await postgres.query(
                    "SELECT delivery_id, status, attempts, last_status_code FROM webhook_deliveries WHERE job_id = $1",
                    [.text(jobID)]
                ).first
            )
            #expect(try row.decode("delivery_id", as: UUID.self).lowercasedString == request.headers["webhook-id"])
            // Recorded after the answer: give the record its moment.
            let deadline = ContinuousClock.now + .seconds(5)
            while try await count(postgres, "SELECT count(*) AS n FROM webhook_deliveries WHERE job_id = $1 AND status = 'delivered'", [.text(jobID)])
                == 0, ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .milliseconds(50))
            }
            let delivered = try #require(
                try await postgres.query("SELECT status, attempts, last_status_code FROM webhook_deliveries WHERE job_id = $1", [.text(jobID)]).first
            )
            #expect(try delivered.decode("status", as: String.self) == "delivered")
            #expect(try delivered.decode("attempts", as: Int.self) == 1)
            #expect(try delivered.decode("last_status_code", as: Int.self) == 200)
            #expect(try await count(postgres, "SELECT count(*) AS n FROM webhook_deliveries WHERE job_id = $1", [.text(quietID)]) == 0)
            try await Task.sleep(for: .milliseconds(500))
            #expect(receiver.requests.count == 1)
        }
        try await Fixture.checkLedger(postgres)
    }

    @Test("kill -9 of a worker after settlement, mid-delivery: the job stays settled and the event still arrives, under the same id")
    func webhookSurvivesWorkerKill() async throws {
        let mock = try await MockUpstream(name: "mock-webhook-kill")
        defer { Task { await mock.stop() } }
        // The first attempt hangs past the sender's timeout: the worker is killed while it waits.
        let receiver = try await E2EWebhookReceiver { n in n == 0 ? (.seconds(30), 200) : (.zero, 200) }
        defer { Task { await receiver.stop() } }
        let postgres = E2E.postgres()
        defer { postgres.shutdown() }
        try await E2E.withAPI { client in
            let team = try await Fixture.team(client, mock: mock, credits: 10)
            let secret = try await registerWebhook(client, team, url: receiver.url)
            var environment = Self.webhookWorkerEnvironment
            environment["WEBHOOK_TIMEOUT_SECONDS"] = "2"  // a 9 s lease: the kill lands inside it
            let doomed = try await ManagedProcess.worker("worker-webhook-doomed", environment: environment)
            let (_, submitted) = try await Fixture.submit(client, team)
            let jobID = try #require(submitted["job_id"] as? String)
            try await receiver.waitForRequests(1, timeout: .seconds(20))
            doomed.kill9()
            await doomed.waitForExit(timeout: .seconds(5))

            // Settled, and its delivery recorded in the same transaction, not yet sent.
            #expect(try await count(postgres, "SELECT count(*) AS n FROM jobs WHERE job_id = $1 AND status = 'completed'", [.text(jobID)]) == 1)
            let pending = try #require(
                try await postgres.query("SELECT status, attempts FROM webhook_deliveries WHERE job_id = $1", [.text(jobID)]).first
            )
            #expect(try pending.decode("status", as: String.self) == "pending")
            #expect(try pending.decode("attempts", as: Int.self) == 0)

            let survivor = try await ManagedProcess.worker("worker-webhook-survivor", environment: Self.webhookWorkerEnvironment)
            defer { Task { await survivor.stop() } }
            // Once the dead sender's lease ends, the survivor sends it again.
            try await receiver.waitForRequests(2, timeout: .seconds(30))
            let requests = receiver.requests
            #expect(requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"])
            let event = try verified(requests[1], secret: secret)
            #expect((event["data"] as? [String: Any])?["job_id"] as? String == jobID)
            let deadline = ContinuousClock.now + .seconds(5)
            while try await count(postgres, "SELECT count(*) AS n FROM webhook_deliveries WHERE job_id = $1 AND status = 'delivered'", [.text(jobID)])
                == 0, ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(
                try await count(postgres, "SELECT count(*) AS n FROM webhook_deliveries WHERE job_id = $1 AND status = 'delivered'", [.text(jobID)])
                    == 1
            )
            let (_, balance) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
            #expect(balance["credits_used"] as? Int == 1)
        }
        try await Fixture.checkLedger(postgres)
    }
}
