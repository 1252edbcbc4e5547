import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A webhook receiver on 127.0.0.1 and a free port, in the test process: it keeps every request
/// it is sent, per path, and answers each as the test's script says.
final class WebhookReceiver: Sendable {
    /// One request as it arrived.
    struct Received: Sendable {
        var path: String
        var headers: [String: String]
        var body: [UInt8]
    }

    enum Answer: Sendable {
        case status(Int)
        /// A 302 to `location`.
        case redirect(String)
        /// After `delay`, this status.
        case slow(Duration, Int)
        /// 200 with a body that never ends (written until the sender hangs up).
        case flood
        /// 200 announcing `Content-Length: 1000000`, then one byte every `every` (or, when nil,
        /// one byte and then nothing), for at most a minute: the body never completes.
        case trickle(every: Duration?)
    }

    let port: Int
    private let log: Log
    private let task: Task<Void, any Error>

    /// What the receiver keeps, shared with its routes.
    private final class Log: Sendable {
        let received = Mutex<[Received]>([])
        /// Bytes of flood written, all answers together.
        let flooded = Atomic<Int>(0)
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// What has arrived so far, at `path` (all paths when nil).
    func requests(at path: String? = nil) -> [Received] {
        log.received.withLock { all in all.filter { path == nil || $0.path == path } }
    }

    var floodedBytes: Int { log.flooded.load(ordering: .relaxed) }

    /// Starts a receiver; `script` answers the `n`th request (from 0) at a path.
    static func start(_ script: @escaping @Sendable (_ path: String, _ n: Int) -> Answer) async throws -> WebhookReceiver {
        let log = Log()
        let router = Router()
        router.post("/{path}") { request, context -> Response in
            let path = "/" + (context.parameters.get("path") ?? "")
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let n = log.received.withLock { all in
                all.append(Received(path: path, headers: headers, body: Array(buffer: body)))
                return all.filter { $0.path == path }.count - 1
            }
            switch script(path, n) {
            case .status(let code):
                return Response(status: .init(code: code))
            case .redirect(let location):
                return Response(status: .found, headers: [.location: location])
            case .slow(let delay, let code):
                try await Task.sleep(for: delay)
                return Response(status: .init(code: code))
            case .flood:
                return Response(
                    status: .ok,
                    body: ResponseBody { writer in
                        let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 << 10)
                        while true {
                            try await writer.write(chunk)
                            log.flooded.add(chunk.readableBytes, ordering: .relaxed)
                        }
                    }
                )
            case .trickle(let every):
                return Response(
                    status: .ok,
                    body: ResponseBody(contentLength: 1_000_000) { writer in
                        let byte = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1)
                        let end = ContinuousClock.now + .seconds(60)
                        try await writer.write(byte)
                        while ContinuousClock.now < end {
                            try await Task.sleep(for: every ?? .milliseconds(200))
                            if every != nil { try await writer.write(byte) }
                        }
                    }
                )
            }
        }
        let port = PortBox()
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.set(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        let deadline = ContinuousClock.now + .seconds(10)
        while port.value == 0 {
            guard ContinuousClock.now < deadline else {
                task.cancel()
                throw ReceiverDidNotStart()
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return WebhookReceiver(port: port.value, log: log, task: task)
    }

    private init(port: Int, log: Log, task: Task<Void, any Error>) {
        self.port = port
        self.log = log
        self.task = task
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    private final class PortBox: Sendable {
        private let port = Atomic<Int>(0)
        var value: Int { port.load(ordering: .acquiring) }
        func set(_ value: Int) { port.store(value, ordering: .releasing) }
    }

    struct ReceiverDidNotStart: Error {}
}
