import Hummingbird

/// The API's routes, declared the usual Hummingbird way (`RouterMethods`: `get`, `post`, `group`,
/// `add(middleware:)`, `addMiddleware { … }`), with one addition: the table remembers which
/// methods each path has, so that a known path asked with another method answers 405 with an
/// `Allow` header (Hummingbird answers 404 there). Routes reach the table through any group
/// made from it, Hummingbird's own `RouterGroup`s included: a group hands its routes up to its
/// parent with the group's path in front.
struct RouteTable<Context: RequestContext>: RouterMethods {
    private let routes: RouterGroup<Context>
    private let prefix: RouterPath
    private let registry: MethodRegistry

    /// - Parameter registry: where the routes are recorded (a caller's, to list them afterwards).
    init(router: Router<Context>, registry: MethodRegistry = MethodRegistry()) {
        self.init(routes: router.group(), prefix: "", registry: registry)
    }

    private init(routes: RouterGroup<Context>, prefix: RouterPath, registry: MethodRegistry) {
        self.routes = routes
        self.prefix = prefix
        self.registry = registry
    }

    /// Routes under `path`, in a table of their own: middleware added to it (authentication, for
    /// instance) applies to its routes only.
    func group(_ path: RouterPath) -> RouteTable {
        RouteTable(routes: routes.group(path), prefix: prefix.appendingPath(path), registry: registry)
    }

    @discardableResult
    func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> RouteTable
    where Responder.Context == Context {
        routes.on(path, method: method, responder: responder)
        registry.record(prefix.appendingPath(path).description, method)
        return self
    }

    /// Middleware for the routes added to this table afterwards.
    @discardableResult
    func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> RouteTable {
        routes.add(middleware: middleware)
        return self
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
