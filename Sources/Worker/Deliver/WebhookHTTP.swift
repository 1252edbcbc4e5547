import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import Shared

/// One attempt's request: the receiver's URL, the Standard Webhooks headers and the body.
struct WebhookRequest: Sendable, Hashable {
    var url: String
    var headers: [String: String]
    var body: [UInt8]
}

/// How one attempt ended on the wire.
enum WebhookAnswer: Sendable, Hashable {
    /// The receiver answered with this status (whatever it was, 3xx included: never followed).
    case status(Int)
    /// No answer: the connection failed or timed out; a short description naming no value.
    case unreachable(String)
}

/// Where webhook attempts go out: HTTP for real, a fake in tests.
protocol WebhookTransport: Sendable {
    func post(_ request: WebhookRequest) async -> WebhookAnswer
    func shutdown() async
}

/// Webhook attempts over async-http-client, with an HTTP client of their own — never the
/// upstreams' pool, so a receiver that hangs cannot hold connections the jobs need.
///
/// Each attempt is bounded: the connect, the wait for the answer's head and every wait for a read
/// by `timeout` (async-http-client drops its request deadline once the head arrives, so without
/// the read timeout a body that never comes would hold the connection for good), the answer's body
/// by 64 KiB (read and thrown away, so the connection can be reused; the rest is not read at all).
/// A body trickled a byte at a time stays within the read timeout: the sender's deadline over the
/// whole attempt (``WebhookSender``) is what bounds that one.
/// Redirects are never followed: a 3xx is an answer like any other non-2xx, retried later, and
/// the `Location` it names (perhaps an internal address) is never visited.
struct WebhookHTTP: WebhookTransport {
    /// The most of an answer's body read.
    static let maxAnswerBytes = 64 << 10

    private let client: HTTPClient
    private let timeout: Duration

    init(timeout: Duration, concurrency: Int) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let limit = TimeAmount.milliseconds(Int64(timeout.milliseconds))
        configuration.timeout = .init(connect: limit, read: limit)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, concurrency))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.timeout = timeout
    }

    func post(_ request: WebhookRequest) async -> WebhookAnswer {
        var http = HTTPClientRequest(url: request.url)
        http.method = .POST
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) { http.headers.add(name: name, value: value) }
        http.body = .bytes(ByteBuffer(bytes: request.body))
        do {
            let response = try await client.execute(http, timeout: .milliseconds(Int64(timeout.milliseconds)))
            var read = 0
            for try await chunk in response.body {
                read += chunk.readableBytes
                // Leaving the loop early drops the connection instead of reading a flood.
                if read >= Self.maxAnswerBytes { break }
            }
            return .status(Int(response.status.code))
        } catch {
            return .unreachable(Self.describe(error))
        }
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    /// A thrown transport error, without anything it carries (a header's value, an address).
    static func describe(_ error: any Error) -> String {
        switch error {
        case is CancellationError:
            return "cancelled"
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout:
            return "timed out"
        default:
            if Task.isCancelled { return "cancelled" }
            return "connection failed (\(HTTPExchange.describe(error)))"
        }
    }
}
