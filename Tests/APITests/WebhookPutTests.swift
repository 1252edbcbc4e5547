import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Postgres
import Shared
import Synchronization
import Testing

@testable import API

/// `PUT /api/teams/{team_id}/webhook`: API.md's order of checks (the body before a foreign team)
/// and the bound on the host lookups a PUT may start (``AddressLookupGate``).
@Suite("Webhook PUT: body before foreign team; host lookups bounded")
struct WebhookPutTests {
    @Test("a bad body for another team's webhook is the body's 422, not the 403; a good one is the 403")
    func bodyBeforeForeignTeam() async throws {
        try await Caller.run { api in
            let mine = try await api.createTeam()
            let other = try await api.createTeam()
            let path = "/api/teams/\(other.id)/webhook"
            let cases: [(String, HTTPResponse.Status, String)] = [
                ("{", .badRequest, "Request body is not valid JSON"),
                (#"{"events": ["job.completed"]}"#, .unprocessableContent, "Field 'url' is required"),
                (#"{"url": "https://hooks.example.com/x", "events": []}"#, .unprocessableContent, "Field 'events' must hold at least one event"),
                (
                    #"{"url": "ftp://hooks.example.com/x", "events": ["job.failed"]}"#, .unprocessableContent,
                    "Field 'url' must be an absolute http(s) URL: the scheme must be https or http"
                ),
                (#"{"url": "https://hooks.example.com/x", "events": ["job.failed"]}"#, .forbidden, "Cannot access webhook for a different team"),
            ]
            for (body, status, detail) in cases {
                let response = try await api.team(mine.key, .put, path, body)
                #expect(response.status == status, "\(body): \(response.summary)")
                #expect(response.detail == detail, "\(body): \(response.summary)")
            }
            #expect(try await Database.int("SELECT count(*) AS n FROM webhook_endpoints WHERE team_id = $1", [.text(other.id)]) == 0)
        }
    }

    /// A resolver that never answers until released (a nameserver that stays silent).
    final class SilentResolver: HostResolver {
        private let state = Mutex<(started: Int, waiting: [CheckedContinuation<Void, Never>], open: Bool)>((0, [], false))

        var started: Int { state.withLock { $0.started } }

        func addresses(of host: String) async -> [String]? {
            await withCheckedContinuation { continuation in
                let open = state.withLock { state in
                    state.started += 1
                    if state.open { return true }
                    state.waiting.append(continuation)
                    return false
                }
                if open { continuation.resume() }
            }
            return ["93.184.216.34"]
        }

        func release() {
            let waiting = state.withLock { state in
                state.open = true
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in waiting { continuation.resume() }
        }
    }

    /// Sets the identity the authenticators would have: the admin key.
    struct AsAdmin: RouterMiddleware {
        func handle(
            _ request: Request,
            context: AppRequestContext,
            next: (Request, AppRequestContext) async throws -> Response
        ) async throws -> Response {
            var context = context
            context.identity = .admin(fingerprint: "test")
            return try await next(request, context)
        }
    }

    @Test("PUTs at a silent nameserver: 503 with Retry-After once the lookups time out or fill the gate; no more lookups than its limit")
    func lookupsBounded() async throws {
        let team = try await TestApp.test { client in try await Caller(client: client).createTeam() }
        var logger = Logger(label: "webhook-put-tests")
        logger.logLevel = .critical
        let configuration = try TestApp.configuration()
        let postgres = PostgresClient(configuration: configuration.postgres, logger: logger)
        defer { postgres.shutdown() }
        let resolver = SilentResolver()
        let gate = AddressLookupGate(limit: 2, timeout: .milliseconds(200))
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AsAdmin())
        let routes = RouteTable(router: router).group("/api")
        WebhookController(
            webhooks: PostgresWebhookStore(postgres: postgres),
            teams: PostgresTeamStore(postgres: postgres),
            secrets: SecretBox(configuration: configuration, logger: logger),
            policy: WebhookTargetPolicy(production: true, resolver: resolver, lookups: gate)
        ).addRoutes(teamOrAdmin: routes)
        let app = Application(router: router, logger: logger)
        try await app.test(.router) { client in
            let body = ByteBuffer(string: #"{"url": "https://silent.example.com/hook", "events": ["job.completed"]}"#)
            let uri = "/api/teams/\(team.id)/webhook"
            let responses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?, String?).self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        try await client.execute(uri: uri, method: .put, body: body) { ($0.status, $0.headers[.retryAfter], $0.detail) }
                    }
                }
                var responses: [(HTTPResponse.Status, String?, String?)] = []
                for try await response in group { responses.append(response) }
                return responses
            }
            for (status, retryAfter, detail) in responses {
                #expect(status == .serviceUnavailable)
                #expect(retryAfter != nil)
                #expect(detail == "Address lookups are busy; retry shortly")
            }
            #expect(resolver.started == 2, "a PUT started a lookup past the gate's limit")
            #expect(try await Database.int("SELECT count(*) AS n FROM webhook_endpoints WHERE team_id = $1", [.text(team.id)]) == 0)
            // Once the nameserver answers, the places come back and a PUT goes through.
            resolver.release()
            for _ in 0..<200 where gate.count > 0 { try await Task.sleep(for: .milliseconds(10)) }
            try await client.execute(uri: uri, method: .put, body: body) { response in
                #expect(response.status == .ok, "\(response.detail ?? "")")
            }
        }
    }
}
