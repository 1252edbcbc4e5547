import Foundation
import Hummingbird
import Shared

/// `/api/providers…` (admin): upstream endpoints. Keys go in, encrypted, and never come out.
struct ProviderController {
    let providers: any ProviderStore
    let secrets: SecretBox
    /// Circuit states as the workers report them.
    let board: ProviderHealthBoard

    struct CreateBody: Decodable {
        var name: String
        var kind: String
        var baseURL: String
        var apiKey: String
        var rpm: Int?
        var tpm: Int?
        var timeoutSeconds: Int?

        enum CodingKeys: String, CodingKey {
            case name, kind
            case baseURL = "base_url"
            case apiKey = "api_key"
            case rpm, tpm
            case timeoutSeconds = "timeout_seconds"
        }
    }

    /// Every field optional; `rpm`/`tpm` may be set to null to remove the limit.
    struct UpdateBody: Decodable {
        var kind: String?
        var baseURL: String?
        var apiKey: String?
        var rpm: Int??
        var tpm: Int??
        var timeoutSeconds: Int?

        enum CodingKeys: String, CodingKey {
            case kind
            case baseURL = "base_url"
            case apiKey = "api_key"
            case rpm, tpm
            case timeoutSeconds = "timeout_seconds"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            kind = try c.decodeIfPresent(String.self, forKey: .kind)
            baseURL = try c.decodeIfPresent(String.self, forKey: .baseURL)
            apiKey = try c.decodeIfPresent(String.self, forKey: .apiKey)
            rpm = c.contains(.rpm) ? .some(try c.decodeIfPresent(Int.self, forKey: .rpm)) : .none
            tpm = c.contains(.tpm) ? .some(try c.decodeIfPresent(Int.self, forKey: .tpm)) : .none
            timeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .timeoutSeconds)
        }
    }

    struct Health: Codable {
        var circuitState: String
        var openUntil: Date?
        var lastError: String?
        var lastErrorStatus: Int?
        var lastErrorAt: Date?

        enum CodingKeys: String, CodingKey {
            case circuitState = "circuit_state"
            case openUntil = "open_until"
            case lastError = "last_error"
            case lastErrorStatus = "last_error_status"
            case lastErrorAt = "last_error_at"
        }
    }

    struct ProviderResponse: ResponseEncodable {
        var name: String
        var kind: String
        var baseURL: String
        var rpm: Int?
        var tpm: Int?
        var timeoutSeconds: Int
        var health: Health
        var createdAt: Date
        var updatedAt: Date

        enum CodingKeys: String, CodingKey {
            case name, kind
            case baseURL = "base_url"
            case rpm, tpm
            case timeoutSeconds = "timeout_seconds"
            case health
            case createdAt = "created_at"
            case updatedAt = "updated_at"
        }

        init(_ p: Provider, lastError: ProviderLastError?, report: ProviderHealthReport? = nil) {
            name = p.name
            kind = p.kind.rawValue
            baseURL = p.baseURL
            rpm = p.rpm
            tpm = p.tpm
            timeoutSeconds = p.timeoutSeconds
            // An open circuit whose cool-down is over lets its probe through: half open.
            var state = report?.state ?? "closed"
            if state == "open", let until = report?.openUntil, until <= Date() { state = "half_open" }
            health = Health(
                circuitState: state,
                openUntil: state == "open" ? report?.openUntil : nil,
                lastError: lastError?.message ?? report?.lastError,
                lastErrorStatus: lastError?.statusCode,
                lastErrorAt: lastError?.at ?? report?.lastErrorAt
            )
            createdAt = p.createdAt
            updatedAt = p.updatedAt
        }
    }

    struct ListResponse: ResponseEncodable {
        var providers: [ProviderResponse]
        var nextCursor: Nullable<String>

        enum CodingKeys: String, CodingKey {
            case providers
            case nextCursor = "next_cursor"
        }
    }

    struct DeletedResponse: ResponseEncodable {
        var name: String
        var deleted: Bool
    }

    func addRoutes(to admin: RouteTable<AppRequestContext>) {
        admin.post("/providers/create", use: create)
        admin.get("/providers", use: list)
        admin.get("/providers/{name}", use: get)
        admin.put("/providers/{name}", use: update)
        admin.delete("/providers/{name}", use: delete)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> ProviderResponse {
        let body = try await request.decode(as: CreateBody.self, context: context)
        try Validate.identifier(body.name, field: "name")
        let kind = try Self.kind(body.kind)
        try Self.validate(baseURL: body.baseURL, apiKey: body.apiKey, rpm: body.rpm, tpm: body.tpm, timeout: body.timeoutSeconds)
        let provider = try await providers.create(
            name: body.name,
            kind: kind,
            baseURL: Self.normalised(body.baseURL),
            sealedAPIKey: try secrets.seal(body.apiKey),
            rpm: body.rpm,
            tpm: body.tpm,
            timeoutSeconds: body.timeoutSeconds ?? 120
        )
        return ProviderResponse(provider, lastError: nil)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> ListResponse {
        let errors = try await providers.lastErrors()
        let reports = (try? await board.reports()) ?? [:]
        return ListResponse(
            providers: try await providers.list().map { ProviderResponse($0, lastError: errors[$0.name], report: reports[$0.name]) },
            nextCursor: nil
        )
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> ProviderResponse {
        let provider = try await providers.get(try context.providerName())
        let reports = (try? await board.reports()) ?? [:]
        return ProviderResponse(provider, lastError: try await providers.lastErrors()[provider.name], report: reports[provider.name])
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> ProviderResponse {
        let name = try context.providerName()
        let body = try await request.decode(as: UpdateBody.self, context: context)
        let kind = try body.kind.map(Self.kind)
        try Self.validate(baseURL: body.baseURL, apiKey: body.apiKey, rpm: body.rpm ?? nil, tpm: body.tpm ?? nil, timeout: body.timeoutSeconds)
        let changes = ProviderChanges(
            kind: kind,
            baseURL: body.baseURL.map(Self.normalised),
            sealedAPIKey: try body.apiKey.map { try secrets.seal($0) },
            rpm: body.rpm,
            tpm: body.tpm,
            timeoutSeconds: body.timeoutSeconds
        )
        let provider = try await providers.update(name, changes)
        return ProviderResponse(provider, lastError: try await providers.lastErrors()[provider.name])
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> DeletedResponse {
        let name = try context.providerName()
        try await providers.delete(name)
        return DeletedResponse(name: name, deleted: true)
    }

    static func kind(_ raw: String) throws(APIError) -> ProviderKind {
        guard let kind = ProviderKind(rawValue: raw) else {
            throw .providerKindUnknown
        }
        return kind
    }

    /// `!` to `~`: what a key or a URL may hold.
    private static func isVisibleASCII(_ scalar: Unicode.Scalar) -> Bool {
        (0x21...0x7E).contains(scalar.value)
    }

    /// Without trailing slashes, and the scheme in lower case: `validate` takes `HTTPS://` (schemes
    /// are case-insensitive), the table's CHECK (`^https?://`) does not.
    static func normalised(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        if let colon = url.firstIndex(of: ":") {
            url = url[..<colon].lowercased() + url[colon...]
        }
        return url
    }

    static func validate(baseURL: String?, apiKey: String?, rpm: Int?, tpm: Int?, timeout: Int?) throws(APIError) {
        if let baseURL {
            guard baseURL.utf8.count <= 500, baseURL.unicodeScalars.allSatisfy(Self.isVisibleASCII),
                let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
                let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil, url.user == nil
            else {
                throw .baseURLInvalid
            }
        }
        if let apiKey {
            // The key goes into an HTTP header: a line break or any other control character
            // would make the HTTP client refuse the request (and quote the header in its error).
            guard (1...1000).contains(apiKey.utf8.count) else { throw .apiKeyLength }
            guard apiKey.unicodeScalars.allSatisfy(Self.isVisibleASCII) else {
                throw .apiKeyNotVisibleASCII
            }
        }
        if let rpm { try Validate.range(rpm, 1...10_000_000, field: "rpm") }
        if let tpm { try Validate.range(tpm, 1...1_000_000_000, field: "tpm") }
        if let timeout { try Validate.range(timeout, 1...3600, field: "timeout_seconds") }
    }
}
