import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API

/// What `scripts/test-fuzz.sh` (schemathesis against the live API) found, each kept as the
/// smallest request that showed it, so the fix cannot quietly come undone.
@Suite("Fuzz findings (scripts/test-fuzz.sh)")
struct FuzzRegressionTests {
    /// schemathesis: `POST /api/providers/create` with `"base_url": "HTTPS://0000…"` answered 500.
    /// The API takes the scheme in any case (RFC 3986: schemes are case-insensitive), but the
    /// table's CHECK (`base_url ~ '^https?://'`) does not, so the INSERT failed. The URL is now
    /// stored with its scheme in lower case, on create and on update.
    @Test("a base_url whose scheme is in capitals is stored with it in lower case, not a 500")
    func upperCaseScheme() async throws {
        try await Caller.run { api in
            let name = Fixture.id("prov")
            let created = try await api.admin(
                .post,
                "/api/providers/create",
                #"{"name": "\#(name)", "kind": "openai", "base_url": "HTTPS://upstream.example/v1/", "api_key": "sk-k"}"#
            )
            #expect(created.status == .ok, "\(created.summary)")
            #expect(created.string("base_url") == "https://upstream.example/v1", "\(created.summary)")

            let updated = try await api.admin(.put, "/api/providers/\(name)", #"{"base_url": "Http://127.0.0.1:9/v1"}"#)
            #expect(updated.status == .ok, "\(updated.summary)")
            #expect(updated.string("base_url") == "http://127.0.0.1:9/v1", "\(updated.summary)")
        }
    }
}
