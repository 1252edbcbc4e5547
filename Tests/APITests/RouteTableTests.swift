import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API

/// `RouteTable` is Hummingbird's `RouterMethods` with 405s: routes declared the usual way, on the
/// table or on any group made from it, answer other methods with 405 and `Allow`.
@Suite("RouteTable: RouterMethods with 405 answers")
struct RouteTableTests {
    struct Tag: RouterMiddleware {
        typealias Context = BasicRequestContext
        let name: String

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            var response = try await next(request, context)
            response.headers[HTTPField.Name("X-Tag")!] = name
            return response
        }
    }

    @Test("routes from tables and plain groups are recorded with their full paths; middleware stays in its group")
    func routesAndMethods() async throws {
        let router = Router()
        let registry = MethodRegistry()
        let table = RouteTable(router: router, registry: registry)
        table.get("/health") { _, _ in "ok" }
        let api = table.group("/api").addMiddleware { Tag(name: "api") }
        api.get("/things/{id}") { _, context in context.parameters.get("id") ?? "" }
            .put("/things/{id}") { _, _ in "put" }
        // Hummingbird's own group, made from the table: its routes reach the table all the same.
        let plain: RouterGroup<BasicRequestContext> = table.group("/api").group("/plain")
        plain.post("/x") { _, _ in "posted" }
        table.addMethodNotAllowedAnswers(to: router)

        let recorded = Dictionary(uniqueKeysWithValues: registry.snapshot())
        #expect(recorded == ["/health": [.get], "/api/things/{id}": [.get, .put], "/api/plain/x": [.post]])

        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/api/things/7", method: .get) { response in
                #expect(String(buffer: response.body) == "7")
                #expect(response.headers[HTTPField.Name("X-Tag")!] == "api")
            }
            try await client.execute(uri: "/api/things/7", method: .delete) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, PUT")
            }
            try await client.execute(uri: "/api/plain/x", method: .post) { response in
                #expect(String(buffer: response.body) == "posted")
                #expect(response.headers[HTTPField.Name("X-Tag")!] == nil)
            }
            try await client.execute(uri: "/api/plain/x", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
            }
            try await client.execute(uri: "/health", method: .post) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET")
            }
        }
    }
}
