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
        var base_url: String
        var api_key: String
        var rpm: Int?
        var tpm: Int?
        var timeout_seconds: Int?
    }

    /// Every field optional; `rpm`/`tpm` may be set to null to remove the limit.
    struct UpdateBody: Decodable {
        var kind: String?
        var base_url: String?
        var api_key: String?
        var rpm: Int??
        var tpm: Int??
        var timeout_seconds: Int?

        enum CodingKeys: String, CodingKey { case kind, base_url, api_key, rpm, tpm, timeout_seconds }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            kind = try c.decodeIfPresent(String.self, forKey: .kind)
            base_url = try c.decodeIfPresent(String.self, forKey: .base_url)
            api_key = try c.decodeIfPresent(String.self, forKey: .api_key)
            rpm = c.contains(.rpm) ? .some(try c.decodeIfPresent(Int.self, forKey: .rpm)) : .none
            tpm = c.contains(.tpm) ? .some(try c.decodeIfPresent(Int.self, forKey: .tpm)) : .none
            timeout_seconds = try c.decodeIfPresent(Int.self, forKey: .timeout_seconds)
        }
    }

    struct Health: Codable {
        var circuit_state: String
        var open_until: Date?
        var last_error: String?
        var last_error_status: Int?
        var last_error_at: Date?
    }

    struct ProviderResponse: ResponseEncodable {
        var name: String
        var kind: String
        var base_url: String
        var rpm: Int?
        var tpm: Int?
        var timeout_seconds: Int
        var health: Health
        var created_at: Date
        var updated_at: Date

        init(_ p: Provider, lastError: ProviderLastError?, report: ProviderHealthReport? = nil) {
            name = p.name
            kind = p.kind.rawValue
            base_url = p.baseURL
            rpm = p.rpm
            tpm = p.tpm
            timeout_seconds = p.timeoutSeconds
            // An open circuit whose cool-down is over lets its probe through: half open.
            var state = report?.state ?? "closed"
            if state == "open", let until = report?.openUntil, until <= Date() { state = "half_open" }
            health = Health(
                circuit_state: state, open_until: state == "open" ? report?.openUntil : nil,
                last_error: lastError?.message ?? report?.lastError, last_error_status: lastError?.statusCode,
                last_error_at: lastError?.at ?? report?.lastErrorAt
            )
            created_at = p.createdAt
            updated_at = p.updatedAt
        }
    }

    struct ListResponse: ResponseEncodable {
        var providers: [ProviderResponse]
        var next_cursor: Nullable<String>
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
        try Self.validate(baseURL: body.base_url, apiKey: body.api_key, rpm: body.rpm, tpm: body.tpm, timeout: body.timeout_seconds)
        let provider = try await providers.create(
            name: body.name, kind: kind, baseURL: Self.normalised(body.base_url), sealedAPIKey: try secrets.seal(body.api_key),
            rpm: body.rpm, tpm: body.tpm, timeoutSeconds: body.timeout_seconds ?? 120
        )
        return ProviderResponse(provider, lastError: nil)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> ListResponse {
        let errors = try await providers.lastErrors()
        let reports = (try? await board.reports()) ?? [:]
        return ListResponse(
            providers: try await providers.list().map { ProviderResponse($0, lastError: errors[$0.name], report: reports[$0.name]) },
            next_cursor: nil
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
        try Self.validate(baseURL: body.base_url, apiKey: body.api_key, rpm: body.rpm ?? nil, tpm: body.tpm ?? nil, timeout: body.timeout_seconds)
        let changes = ProviderChanges(
            kind: kind, baseURL: body.base_url.map(Self.normalised), sealedAPIKey: try body.api_key.map { try secrets.seal($0) },
            rpm: body.rpm, tpm: body.tpm, timeoutSeconds: body.timeout_seconds
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

    static func normalised(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
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
