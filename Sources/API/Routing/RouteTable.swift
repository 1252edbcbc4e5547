import Hummingbird

/// Adds routes to the router and remembers which methods each path has, so that a known path
/// asked with another method answers 405 with an `Allow` header (Hummingbird answers 404 there).
struct RouteTable<Context: RequestContext> {
    private let group: RouterGroup<Context>
    private let prefix: String
    private let registry: MethodRegistry

    /// - Parameter registry: where the routes are recorded (a caller's, to list them afterwards).
    init(router: Router<Context>, registry: MethodRegistry = MethodRegistry()) {
        self.group = router.group()
        self.prefix = ""
        self.registry = registry
    }

    private init(group: RouterGroup<Context>, prefix: String, registry: MethodRegistry) {
        self.group = group
        self.prefix = prefix
        self.registry = registry
    }

    /// Routes under `path`, behind `middleware` in order (authentication, for instance).
    func group(_ path: String, middleware: any MiddlewareProtocol<Request, Response, Context>...) -> RouteTable {
        var group = self.group.group(RouterPath(path))
        for middleware in middleware { group = group.add(middleware: middleware) }
        return RouteTable(group: group, prefix: prefix + path, registry: registry)
    }

    func on(
        _ path: String,
        method: HTTPRequest.Method,
        use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator
    ) {
        group.on(RouterPath(path), method: method, use: handler)
        registry.record(prefix + path, method)
    }

    func get(_ path: String, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) {
        on(path, method: .get, use: handler)
    }

    func post(_ path: String, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) {
        on(path, method: .post, use: handler)
    }

    func put(_ path: String, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) {
        on(path, method: .put, use: handler)
    }

    func patch(_ path: String, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) {
        on(path, method: .patch, use: handler)
    }

    func delete(_ path: String, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) {
        on(path, method: .delete, use: handler)
    }

    /// Once every route is in: registers the 405 answers on the root router.
    func addMethodNotAllowedAnswers(to router: Router<Context>) {
        for (path, allowed) in registry.snapshot() {
            let allowHeader = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            for method in MethodRegistry.answered where !allowed.contains(method) {
                router.on(RouterPath(path), method: method) { _, _ -> Response in
                    var response = APIError.methodNotAllowed.makeResponse()
                    response.headers[.allow] = allowHeader
                    return response
                }
            }
        }
    }
}

/// The paths and methods registered so far; written while the router is built, read once after.
final class MethodRegistry: @unchecked Sendable {
    static let answered: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]
    private var methods: [String: Set<HTTPRequest.Method>] = [:]

    func record(_ path: String, _ method: HTTPRequest.Method) {
        methods[path, default: []].insert(method)
    }

    func snapshot() -> [(String, Set<HTTPRequest.Method>)] {
        methods.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
