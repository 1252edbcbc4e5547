import Hummingbird
import Logging
import Shared

/// Records every admin mutation — who (the admin key's fingerprint), what (method and route),
/// which target, when, and how it ended — after it has run, whether it succeeded or not.
struct AuditMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let audit: any AuditStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method != .get && request.method != .head, case .admin(let fingerprint) = context.identity else {
            return try await next(request, context)
        }
        do {
            let response = try await next(request, context)
            await record(request, context, fingerprint, outcome: response.status.code)
            return response
        } catch {
            let status = APIError(answering: error, logger: nil).status.code
            await record(request, context, fingerprint, outcome: status)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, _ fingerprint: String, outcome: Int) async {
        let route = context.endpointPath ?? request.uri.path
        let target = context.parameters.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ",")
        var details: JSONObject = ["path": .string(request.uri.path)]
        details["request_id"] = .string(context.id)
        do {
            try await audit.record(
                actor: "admin:\(fingerprint)",
                action: "\(request.method.rawValue) \(route)",
                target: target.isEmpty ? nil : target,
                outcome: outcome < 400 ? "success (\(outcome))" : "failure (\(outcome))",
                details: details
            )
        } catch {
            context.logger.error("audit record failed", metadata: ["error": "\(error)"])
        }
    }
}
