import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// A `POST` to an upstream, as the provider kinds build it: sent whole and answered whole by
/// ``HTTPExchange/send(_:client:timeout:)``, or streamed by ``StreamExchange``, which takes it as
/// the HTTP client's `async` request.
struct UpstreamHTTPRequest: Sendable {
    var url: String
    var headers = HTTPHeaders()
    var body: ByteBuffer

    init(url: String, body: ByteBuffer) {
        self.url = url
        self.body = body
    }

    /// For the client's `EventLoopFuture` interface; throws for a URL it cannot send to (an
    /// endpoint's base URL is checked when the provider is saved, so not expected).
    func futureRequest() throws -> HTTPClient.Request {
        try HTTPClient.Request(url: url, method: .POST, headers: headers, body: .byteBuffer(body))
    }

    /// For the client's `async` interface (a streamed answer is read as it comes).
    var streamingRequest: HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(body)
        return request
    }
}
