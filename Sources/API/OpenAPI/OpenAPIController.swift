import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// `GET /openapi.json` (the document) and `GET /docs` (a page that renders it for people, served
/// from `Resources/docs/`). The document is built once, after every route is registered
/// (``publish(routes:)``), and served as the same bytes ever after.
final class OpenAPIController: @unchecked Sendable {
    // Written once by `publish` while the router is built, before the server answers anything;
    // read-only afterwards.
    private var documentBytes = ByteBuffer(string: #"{"detail":"The document is not built yet"}"#)
    private(set) var undocumented: [OperationKey] = []

    /// The docs page's files, read once from the bundle: name → (media type, bytes).
    private let pages: [String: (String, ByteBuffer)]

    init() {
        var pages: [String: (String, ByteBuffer)] = [:]
        for (name, type) in Self.pageFiles {
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            if let url = Bundle.module.url(forResource: parts[0], withExtension: parts[1], subdirectory: "Resources/docs"),
                let data = try? Data(contentsOf: url)
            {
                pages[name] = (type, ByteBuffer(bytes: data))
            }
        }
        self.pages = pages
    }

    static let pageFiles = [
        "index.html": "text/html; charset=utf-8", "docs.js": "text/javascript; charset=utf-8", "docs.css": "text/css; charset=utf-8",
    ]

    func addRoutes<Context: RequestContext>(to routes: RouteTable<Context>) {
        routes.get("/openapi.json") { [self] _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            headers[.cacheControl] = "no-cache"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: documentBytes))
        }
        routes.get("/docs") { [self] _, _ in page("index.html") }
        routes.get("/docs/{file}") { [self] _, context in page(context.parameters.get("file") ?? "") }
    }

    /// Builds the document from every route registered so far and keeps its bytes. A process
    /// that builds the same routes again (the tests build an app per test) reuses the last build.
    func publish(routes registry: MethodRegistry) {
        let routes = registry.snapshot()
        let key = routes.map { "\($0.0) \($0.1.map(\.rawValue).sorted())" }.joined(separator: "\n")
        if let last = Self.lastBuild.withLock({ $0 }), last.key == key {
            documentBytes = last.bytes
            undocumented = last.undocumented
            return
        }
        let outcome = OpenAPIDocumentBuilder().build(routes: routes)
        undocumented = outcome.undocumented
        if let data = try? OpenAPIDocumentBuilder.encode(outcome.document) {
            documentBytes = ByteBuffer(bytes: data)
            Self.lastBuild.withLock { $0 = (key, documentBytes, undocumented) }
        }
    }

    private static let lastBuild = Mutex<(key: String, bytes: ByteBuffer, undocumented: [OperationKey])?>(nil)

    private func page(_ name: String) -> Response {
        guard let (type, bytes) = pages[name] else {
            return APIError.pathNotFound.makeResponse()
        }
        var headers = HTTPFields()
        headers[.contentType] = type
        // Only this origin's script and style, and `/openapi.json`.
        headers[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: bytes))
    }
}
