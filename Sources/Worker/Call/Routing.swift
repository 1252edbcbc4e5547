import Foundation
import Logging
import Shared
import Synchronization

/// Model groups and provider endpoints, read from PostgreSQL and kept for a few seconds: every
/// job needs them, and they change rarely. Provider keys are decrypted here, in the process that
/// calls the provider, and live only in memory.
final class Routing: Sendable {
    private struct Cached<Value: Sendable>: Sendable {
        var value: Value
        var expires: ContinuousClock.Instant
    }

    private let modelGroups: any ModelGroupStore
    private let providers: any ProviderStore
    private let secrets: SecretBox
    private let timeToLive: Duration
    private let groups = Mutex<[String: Cached<ModelGroup>]>([:])
    private let endpoints = Mutex<[String: Cached<UpstreamEndpoint>]>([:])

    init(modelGroups: any ModelGroupStore, providers: any ProviderStore, secrets: SecretBox, timeToLive: Duration = .seconds(5)) {
        self.modelGroups = modelGroups
        self.providers = providers
        self.secrets = secrets
        self.timeToLive = timeToLive
    }

    func group(_ name: String) async throws -> ModelGroup {
        let now = ContinuousClock.now
        if let cached = groups.withLock({ $0[name] }), cached.expires > now { return cached.value }
        let group = try await modelGroups.get(name)
        groups.withLock { $0[name] = Cached(value: group, expires: now + timeToLive) }
        return group
    }

    func endpoint(_ provider: String) async throws -> UpstreamEndpoint {
        let now = ContinuousClock.now
        if let cached = endpoints.withLock({ $0[provider] }), cached.expires > now { return cached.value }
        let record = try await providers.get(provider)
        let key = try secrets.open(try await providers.sealedAPIKey(provider))
        let endpoint = UpstreamEndpoint(
            provider: record.name, kind: record.kind, baseURL: record.baseURL, apiKey: key, timeout: .seconds(record.timeoutSeconds),
            rpm: record.rpm, tpm: record.tpm
        )
        endpoints.withLock { $0[provider] = Cached(value: endpoint, expires: now + timeToLive) }
        return endpoint
    }
}
