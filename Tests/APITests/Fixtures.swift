import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Shared
import Testing

@testable import API

/// Shared pieces of the black-box tests of the tenancy and admin API. Every test makes its own
/// organizations, teams, groups and providers with unique identifiers: the tests run in parallel
/// against one database that is never emptied.
enum Fixture {
    /// The development default of `MASTER_KEY`, which the tests' configuration uses.
    static let adminKey = AppConfiguration.developmentMasterKey

    /// A fresh identifier such as `org-1a2b3c4d`.
    static func id(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// A string as a JSON string literal (quotes and escapes included).
    static func quoted(_ value: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [value], options: [.fragmentsAllowed])
        let array = String(decoding: data, as: UTF8.self)
        return String(array.dropFirst().dropLast())
    }

    /// `2026-11-26T18:47:10.266Z`: RFC 3339, UTC, milliseconds.
    static func isTimestamp(_ value: Any?) -> Bool {
        guard let text = value as? String else { return false }
        return text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression) != nil
    }

    /// The current period labels, in UTC.
    static var currentMonth: String { period("yyyy-MM") }
    static var today: String { period("yyyy-MM-dd") }

    private static func period(_ format: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter.string(from: Date())
    }

    /// Polls `condition` until it holds or `timeout` has passed; true when it held.
    static func eventually(
        within timeout: Duration,
        every interval: Duration = .milliseconds(100),
        _ condition: () async throws -> Bool
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            if try await condition() { return true }
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: interval)
        }
    }
}

extension HTTPField.Name {
    static let xAdminKey = HTTPField.Name("X-Admin-Key")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let xRequestID = HTTPField.Name("X-Request-Id")!
}

extension TestResponse {
    /// The raw body, to check what it must never contain.
    var text: String { String(buffer: body) }

    /// `json[key]` as an integer, whichever way JSONSerialization represented it.
    func int(_ key: String) -> Int? { Self.int(json?[key]) }

    func string(_ key: String) -> String? { json?[key] as? String }

    /// `json[key]` as an array of objects.
    func objects(_ key: String) -> [[String: Any]] { json?[key] as? [[String: Any]] ?? [] }

    static func int(_ value: Any?) -> Int? {
        switch value {
        case let value as Int: return value
        case let value as NSNumber: return value.intValue
        default: return nil
        }
    }

    /// True when `json[key]` is null or absent.
    func isNull(_ key: String) -> Bool { json?[key] == nil || json?[key] is NSNull }

    /// The JSON body for a failed expectation's message.
    var summary: String { "\(status.code) \(text.prefix(500))" }
}

/// The app under test, as a caller of its HTTP API.
struct Caller: Sendable {
    let client: any TestClientProtocol

    /// Builds the app and runs `body` against it.
    static func run(_ body: @escaping @Sendable (Caller) async throws -> Void) async throws {
        try await TestApp.test { client in try await body(Caller(client: client)) }
    }

    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: String? = nil) async throws -> TestResponse {
        try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    @discardableResult
    func sendBytes(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], bytes: [UInt8]) async throws -> TestResponse {
        try await client.execute(uri: uri, method: method, headers: headers, body: ByteBuffer(bytes: bytes))
    }

    /// A request with the admin key.
    @discardableResult
    func admin(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        headers[.xAdminKey] = Fixture.adminKey
        return try await send(method, uri, headers: headers, body: body)
    }

    /// A request with a team's virtual key.
    @discardableResult
    func team(
        _ key: String,
        _ method: HTTPRequest.Method,
        _ uri: String,
        _ body: String? = nil,
        headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        headers[.authorization] = "Bearer \(key)"
        return try await send(method, uri, headers: headers, body: body)
    }

    // MARK: - Making things

    @discardableResult
    func createOrganization(_ id: String = Fixture.id("org"), name: String? = nil) async throws -> String {
        let body = #"{"organization_id": "\#(id)", "name": \#(Fixture.quoted(name ?? "Organization \(id)"))}"#
        let response = try await admin(.post, "/api/organizations/create", body)
        try #require(response.status == .ok, "creating organization \(id): \(response.summary)")
        return id
    }

    @discardableResult
    func createProvider(_ name: String = Fixture.id("prov"), apiKey: String = "sk-upstream-\(UUID().uuidString)") async throws -> String {
        let body = #"{"name": "\#(name)", "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "\#(apiKey)"}"#
        let response = try await admin(.post, "/api/providers/create", body)
        try #require(response.status == .ok, "creating provider \(name): \(response.summary)")
        return name
    }

    /// A model group with one model (`models` names them) on `provider` (a new one when nil).
    @discardableResult
    func createModelGroup(_ name: String = Fixture.id("group"), provider: String? = nil, models: [String] = ["test-model"]) async throws -> String {
        let provider = if let provider { provider } else { try await createProvider() }
        let entries = models.enumerated().map { index, model in
            #"{"model_name": "\#(model)", "provider": "\#(provider)", "priority": \#(index), "input_price_per_million": 1.5, "output_price_per_million": 2}"#
        }
        let body = #"{"group_name": "\#(name)", "models": [\#(entries.joined(separator: ","))]}"#
        let response = try await admin(.post, "/api/model-groups/create", body)
        try #require(response.status == .ok, "creating model group \(name): \(response.summary)")
        return name
    }

    struct CreatedTeam: Sendable {
        var id: String
        var organization: String
        var key: String
    }

    /// A team (in a new organization unless one is given) and its virtual key.
    func createTeam(
        _ id: String = Fixture.id("team"),
        organization: String? = nil,
        groups: [String] = [],
        credits: Int = 100,
        extra: String = ""
    ) async throws -> CreatedTeam {
        let organization = if let organization { organization } else { try await createOrganization() }
        let groupList = groups.map { "\"\($0)\"" }.joined(separator: ",")
        let body =
            #"{"organization_id": "\#(organization)", "team_id": "\#(id)", "model_groups": [\#(groupList)], "credits_allocated": \#(credits)\#(extra)}"#
        let response = try await admin(.post, "/api/teams/create", body)
        try #require(response.status == .ok, "creating team \(id): \(response.summary)")
        let key = try #require(response.string("virtual_key"))
        return CreatedTeam(id: id, organization: organization, key: key)
    }

    /// `POST /api/jobs/create` of the smallest chat job, with the team's key: the job most
    /// tests need to exist (queued; no worker runs in these tests).
    func submitChat(_ team: CreatedTeam, group: String) async throws -> TestResponse {
        try await self.team(
            team.key,
            .post,
            "/api/jobs/create",
            #"{"team_id": "\#(team.id)", "job_type": "t", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}]}"#
        )
    }

    /// `credits_remaining` of a team, read with the admin key.
    func remaining(_ team: String) async throws -> Int {
        let response = try await admin(.get, "/api/credits/teams/\(team)/balance")
        try #require(response.status == .ok, "balance of \(team): \(response.summary)")
        return try #require(response.int("credits_remaining"))
    }

    /// Every row of a cursor-paginated admin list, following `next_cursor` (with a safety cap).
    func walk(
        _ path: String,
        key: String,
        limit: Int,
        headers: HTTPFields? = nil,
        maxPages: Int = 500
    ) async throws -> (rows: [[String: Any]], pages: Int) {
        var rows: [[String: Any]] = []
        var cursor: String?
        var pages = 0
        repeat {
            var uri = "\(path)\(path.contains("?") ? "&" : "?")limit=\(limit)"
            if let cursor { uri += "&cursor=\(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor)" }
            let response = if let headers { try await send(.get, uri, headers: headers) } else { try await admin(.get, uri) }
            try #require(response.status == .ok, "\(uri): \(response.summary)")
            let page = response.objects(key)
            #expect(page.count <= limit)
            rows += page
            cursor = response.json?["next_cursor"] as? String
            pages += 1
        } while cursor != nil && pages < maxPages
        return (rows, pages)
    }
}

/// Direct reads of the test database, for what HTTP cannot show (what is stored, and how).
enum Database {
    static func with<T: Sendable>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        let postgres = PostgresClient(configuration: PostgresConfiguration(url: TestApp.databaseURL, poolSize: 1))
        defer { postgres.shutdown() }
        return try await body(postgres)
    }

    /// One integer from a query such as `SELECT count(*) AS n …`.
    static func int(_ sql: String, _ binds: [PostgresBind] = []) async throws -> Int? {
        try await with { postgres in
            try await postgres.query(sql, binds).first?.decodeIfPresent("n", as: Int.self)
        }
    }
}

extension Array where Element == UInt8 {
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}
