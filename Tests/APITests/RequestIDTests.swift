import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import API

/// One id per request: the caller's `X-Request-Id` when it is sane, else a new one, and that one
/// id is in the answer, in Hummingbird's `hb.request.id` log metadata and in `context.id`.
@Suite("Request id: one per request, the caller's when sane")
struct RequestIDTests {
    static let header = HTTPField.Name("X-Request-Id")!

    /// A router with the middleware and one route answering the id its handler sees.
    static func app() -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: RequestIDMiddleware())
        router.get("/id") { _, context in
            "\(context.id) \(context.logger[metadataKey: "hb.request.id"].map { "\($0)" } ?? "none")"
        }
        return Application(router: router)
    }

    @Test("the answer's id is the id handlers and log lines see")
    func oneID() async throws {
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/id", method: .get, headers: [Self.header: "trace-abc"]) { response in
                #expect(response.headers[Self.header] == "trace-abc")
                #expect(String(buffer: response.body) == "trace-abc trace-abc")
            }
            try await client.execute(uri: "/id", method: .get) { response in
                let id = try #require(response.headers[Self.header])
                #expect(UUID(uuidString: id) != nil)
                #expect(String(buffer: response.body) == "\(id) \(id)")
            }
        }
    }

    @Test("an id that is too long, empty, or not visible ASCII is replaced")
    func insaneIDs() async throws {
        let sane = String(repeating: "a", count: 200)
        #expect(RequestIDMiddleware<BasicRequestContext>.isAcceptable(sane))
        for insane in ["", String(repeating: "a", count: 201), "a b", "tab\there", "caf\u{e9}", "nul\u{0}"] {
            #expect(!RequestIDMiddleware<BasicRequestContext>.isAcceptable(insane), "\(insane.debugDescription)")
        }
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/id", method: .get, headers: [Self.header: String(repeating: "b", count: 201)]) { response in
                let id = try #require(response.headers[Self.header])
                #expect(UUID(uuidString: id) != nil)
                #expect(String(buffer: response.body) == "\(id) \(id)")
            }
        }
    }
}
