import Foundation
import Logging
import Shared

/// Model groups and provider endpoints, read from PostgreSQL and kept for a few seconds: every
/// job needs them, and they change rarely. When one expires while many jobs run, the jobs that
/// find it stale share one read (``ExpiringCache``'s single flight). Provider keys are decrypted
/// here, in the process that calls the provider, and live only in memory.
final class Routing: Sendable {
    private let modelGroups: any ModelGroupStore
    private let providers: any ProviderStore
    private let secrets: SecretBox
    private let groups: ExpiringCache<String, ModelGroup>
    private let endpoints: ExpiringCache<String, UpstreamEndpoint>

    init(modelGroups: any ModelGroupStore, providers: any ProviderStore, secrets: SecretBox, timeToLive: Duration = .seconds(5)) {
        self.modelGroups = modelGroups
        self.providers = providers
        self.secrets = secrets
        groups = ExpiringCache(timeToLive: timeToLive)
        endpoints = ExpiringCache(timeToLive: timeToLive)
    }

    func group(_ name: String) async throws -> ModelGroup {
        try await groups.value(for: name) { [modelGroups] in try await modelGroups.get(name) }
    }

    func endpoint(_ provider: String) async throws -> UpstreamEndpoint {
        try await endpoints.value(for: provider) { [providers, secrets] in
            let record = try await providers.get(provider)
            let key = try secrets.open(try await providers.sealedAPIKey(provider))
            return UpstreamEndpoint(
                provider: record.name,
                kind: record.kind,
                baseURL: record.baseURL,
                apiKey: key,
                timeout: .seconds(record.timeoutSeconds),
                rpm: record.rpm,
                tpm: record.tpm
            )
        }
    }
}
