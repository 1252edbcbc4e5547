import Foundation
import Glibc
import Hummingbird
import HummingbirdTesting
import NIOHTTP1
import Testing

@testable import API

/// A client that goes away in the middle of its body: its failure, counted and logged as a 400,
/// never a 500 (a 5xx alert paged for every phone that lost its signal mid-upload).
@Suite("A body the client broke off")
struct BrokenOffBodyTests {
    @Test("the parser's errors answer 400 with their sentence")
    func mapping() {
        #expect(APIError(answering: HTTPParserError.invalidEOFState, logger: nil) == .bodyBrokenOff)
        #expect(APIError.bodyBrokenOff.status == .badRequest)
        #expect(APIError.bodyBrokenOff.detail == "Request body ended before it was complete")
        #expect(APIError(answering: HTTPParserError.invalidChunkSize, logger: nil) == .malformedHTTP)
        #expect(APIError.malformedHTTP.status == .badRequest)
    }

    @Test("a connection closed mid-body is counted as a 400 of its route, not a 500")
    func closedMidBody() async throws {
        try await TestApp.testLive { client in
            let api = Caller(client: client)
            let port = try #require(client.port)
            let route = "/api/organizations/create"
            let refused = #"saas_http_requests_total{method="POST",route="\#(route)",status="400"}"#
            let failed = #"saas_http_requests_total{method="POST",route="\#(route)",status="500"}"#
            let before = try await MetricsTests.scrape(api)
            // The head promises 1,000 bytes; 25 come, then the connection closes.
            try await Self.sendAndClose(
                port: port,
                "POST \(route) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Admin-Key: \(Fixture.adminKey)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"organization_id\": \"abc"
            )
            var after = before
            for _ in 0..<50 where MetricsTests.value(after, refused) < MetricsTests.value(before, refused) + 1 {
                try await Task.sleep(for: .milliseconds(100))
                after = try await MetricsTests.scrape(api)
            }
            // (Other suites of this process count into the same registry: at least one more.)
            #expect(MetricsTests.value(after, refused) >= MetricsTests.value(before, refused) + 1, "\(after.prefix(3000))")
            #expect(MetricsTests.value(after, failed) == MetricsTests.value(before, failed))
            // Nothing was created, and the server goes on answering.
            #expect(try await api.admin(.get, "/api/organizations/abc").status == .notFound)
        }
    }

    @Test("two hundred clients that break off at once: each a 400, the server answers on")
    func manyAtOnce() async throws {
        try await TestApp.testLive { client in
            let api = Caller(client: client)
            let port = try #require(client.port)
            let route = "/api/organizations/create"
            let refused = #"saas_http_requests_total{method="POST",route="\#(route)",status="400"}"#
            let failed = #"saas_http_requests_total{method="POST",route="\#(route)",status="500"}"#
            let before = try await MetricsTests.scrape(api)
            let head = Array(
                ("POST \(route) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Admin-Key: \(Fixture.adminKey)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"organization_id\": \"").utf8
            )
            // All open at once, each promising 1,000 bytes of body and sending a few of them.
            var sockets: [Int32] = []
            defer { for fd in sockets { close(fd) } }
            for _ in 0..<200 {
                let fd = try LoopbackSocket.connect(port: port)
                sockets.append(fd)
                _ = head.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            try await Task.sleep(for: .milliseconds(500))
            for fd in sockets { close(fd) }
            sockets = []
            var after = before
            for _ in 0..<100 where MetricsTests.value(after, refused) < MetricsTests.value(before, refused) + 200 {
                try await Task.sleep(for: .milliseconds(100))
                after = try await MetricsTests.scrape(api)
            }
            #expect(MetricsTests.value(after, refused) >= MetricsTests.value(before, refused) + 200)
            #expect(MetricsTests.value(after, failed) == MetricsTests.value(before, failed))
            #expect(try await api.send(.get, "/health").status == .ok)
        }
    }

    /// Sends `text` on a new connection, waits a moment (the server reads the head and starts on
    /// the body), then closes it. The wait suspends: the app under test shares this pool.
    private static func sendAndClose(port: Int, _ text: String) async throws {
        let fd = try LoopbackSocket.connect(port: port)
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            throw POSIXError(.EIO)
        }
        try await Task.sleep(for: .milliseconds(300))
    }
}
