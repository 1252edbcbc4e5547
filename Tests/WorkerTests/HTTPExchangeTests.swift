import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import Worker

/// ``HTTPExchange/send(_:client:timeout:)`` against a real HTTP server in the test process: the
/// answer read whole, and every way it can fail to end bounded — too big, too late, trickling,
/// or no longer wanted.
@Suite("An upstream exchange: the answer whole, bounded in size and time, cancellable")
struct HTTPExchangeTests {
    /// A server answering every request with `answer`, and a client, for `body`.
    static func withServer(
        answering answer: WebhookReceiver.Answer,
        _ body: (WebhookReceiver, HTTPClient) async throws -> Void
    ) async throws {
        let server = try await WebhookReceiver.start { _, _ in answer }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        do {
            try await body(server, client)
        } catch {
            try? await client.shutdown()
            await server.stop()
            throw error
        }
        try await client.shutdown()
        await server.stop()
    }

    static func request(_ server: WebhookReceiver) -> UpstreamHTTPRequest {
        var request = UpstreamHTTPRequest(url: server.baseURL + "/v1", body: ByteBuffer(string: #"{"model":"m"}"#))
        request.headers.add(name: "Authorization", value: "Bearer sk-test")
        request.headers.add(name: "Content-Type", value: "application/json")
        return request
    }

    static func failure(_ work: () async throws(UpstreamFailure) -> (Int, HTTPHeaders, Data)) async -> UpstreamFailure? {
        do throws(UpstreamFailure) {
            _ = try await work()
            return nil
        } catch {
            return error
        }
    }

    @Test("the request is sent as built (a POST with its headers and body) and the status comes back")
    func answered() async throws {
        try await Self.withServer(answering: .status(201)) { server, client in
            let (status, _, body) = try await HTTPExchange.send(Self.request(server), client: client, timeout: .seconds(10))
            #expect(status == 201)
            #expect(body.isEmpty)
            let received = try #require(server.requests(at: "/v1").first)
            #expect(received.body == Array(#"{"model":"m"}"#.utf8))
            #expect(received.headers["authorization"] == "Bearer sk-test")
            #expect(received.headers["content-type"] == "application/json")
        }
    }

    @Test("an answer past 16 MiB is a transient failure naming the bound, and the exchange ends")
    func tooBig() async throws {
        try await Self.withServer(answering: .flood) { server, client in
            let failure = await Self.failure { () async throws(UpstreamFailure) in
                try await HTTPExchange.send(Self.request(server), client: client, timeout: .seconds(60))
            }
            #expect(failure?.kind == .transient)
            #expect(failure?.message == "response body larger than 16 MiB")
        }
    }

    @Test("an answer later than the timeout is timed out, at about the timeout")
    func late() async throws {
        try await Self.withServer(answering: .slow(.seconds(20), 200)) { server, client in
            let started = ContinuousClock.now
            let failure = await Self.failure { () async throws(UpstreamFailure) in
                try await HTTPExchange.send(Self.request(server), client: client, timeout: .milliseconds(500))
            }
            #expect(failure?.isTimeout == true, "\(String(describing: failure))")
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test("a body that trickles past the timeout is timed out too: the deadline covers the whole answer")
    func trickle() async throws {
        try await Self.withServer(answering: .trickle(every: .milliseconds(100))) { server, client in
            let started = ContinuousClock.now
            let failure = await Self.failure { () async throws(UpstreamFailure) in
                try await HTTPExchange.send(Self.request(server), client: client, timeout: .seconds(1))
            }
            #expect(failure?.isTimeout == true, "\(String(describing: failure))")
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test("a cancelled task ends its exchange at once, as cancelled")
    func cancelled() async throws {
        try await Self.withServer(answering: .slow(.seconds(30), 200)) { server, client in
            let request = Self.request(server)
            let exchange = Task {
                await Self.failure { () async throws(UpstreamFailure) in
                    try await HTTPExchange.send(request, client: client, timeout: .seconds(60))
                }
            }
            let sent = ContinuousClock.now + .seconds(20)
            while server.requests(at: "/v1").isEmpty {
                try #require(ContinuousClock.now < sent, "the request never reached the server")
                try await Task.sleep(for: .milliseconds(20))
            }
            let started = ContinuousClock.now
            exchange.cancel()
            let failure = await exchange.value
            #expect(failure?.kind == .transient)
            #expect(failure?.message == "cancelled")
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    @Test("a task cancelled before its exchange began sends nothing: a call sent and then cancelled may still be billed")
    func cancelledBeforeSending() async throws {
        try await Self.withServer(answering: .slow(.seconds(30), 200)) { server, client in
            let request = Self.request(server)
            let exchange = Task {
                // Ends when the task is cancelled, which it already is or will be at once.
                try? await Task.sleep(for: .seconds(60))
                return await Self.failure { () async throws(UpstreamFailure) in
                    try await HTTPExchange.send(request, client: client, timeout: .seconds(60))
                }
            }
            exchange.cancel()
            let failure = await exchange.value
            #expect(failure?.kind == .transient)
            #expect(failure?.message == "cancelled")
            try await Task.sleep(for: .milliseconds(300))
            #expect(server.requests(at: "/v1").isEmpty, "a request went out for a cancelled task")
        }
    }
}
