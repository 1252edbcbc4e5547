import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Shared
import Testing

@testable import API

@Suite("Providers: create, list, get, update, delete; keys go in and never come out")
struct ProviderTests {
    @Test("create answers the provider with its health and without its key")
    func create() async throws {
        try await Caller.run { api in
            let name = Fixture.id("prov")
            let secret = "sk-upstream-\(UUID().uuidString)"
            let body =
                #"{"name": "\#(name)", "kind": "anthropic", "base_url": "https://api.example.com/v1/", "api_key": "\#(secret)", "rpm": 600, "tpm": 100000, "timeout_seconds": 30}"#
            let created = try await api.admin(.post, "/api/providers/create", body)
            #expect(created.status == .ok, "\(created.summary)")
            #expect(created.string("name") == name)
            #expect(created.string("kind") == "anthropic")
            #expect(created.string("base_url")?.hasPrefix("https://api.example.com/v1") == true)
            #expect(created.int("rpm") == 600)
            #expect(created.int("tpm") == 100_000)
            #expect(created.int("timeout_seconds") == 30)
            let health = created.json?["health"] as? [String: Any]
            #expect(health?["circuit_state"] is String)
            #expect(health?["last_error"] == nil || health?["last_error"] is NSNull, "a new provider has no last error")
            #expect(!created.text.contains(secret))
            #expect(created.json?["api_key"] == nil)

            let defaults = try await api.admin(
                .post,
                "/api/providers/create",
                #"{"name": "\#(Fixture.id("prov"))", "kind": "openai", "base_url": "http://127.0.0.1:9", "api_key": "k"}"#
            )
            #expect(defaults.status == .ok)
            #expect(defaults.int("timeout_seconds") == 120)
            #expect(defaults.json?["rpm"] == nil || defaults.json?["rpm"] is NSNull)
        }
    }

    @Test("a taken name is a 409; the provider and its key are unchanged")
    func duplicate() async throws {
        try await Caller.run { api in
            let name = try await api.createProvider()
            let again = try await api.admin(
                .post,
                "/api/providers/create",
                #"{"name": "\#(name)", "kind": "anthropic", "base_url": "https://elsewhere.example.com", "api_key": "other"}"#
            )
            #expect(again.status == .conflict)
            #expect(again.detail?.contains(name) == true, "\(again.summary)")
            let fetched = try await api.admin(.get, "/api/providers/\(name)")
            #expect(fetched.string("kind") == "openai")
            #expect(fetched.string("base_url") == "http://127.0.0.1:9/v1")
        }
    }

    @Test("create refuses invalid fields with a 422 naming the field; nothing is created")
    func createValidation() async throws {
        try await Caller.run { api in
            let name = Fixture.id("prov")
            let ok = #""kind": "openai", "base_url": "http://h.example", "api_key": "k""#
            let cases: [(body: String, field: String)] = [
                (#"{\#(ok)}"#, "name"),
                (#"{"name": "has space", \#(ok)}"#, "name"),
                (#"{"name": "\#(name)", "kind": "gemini", "base_url": "http://h.example", "api_key": "k"}"#, "kind"),
                (#"{"name": "\#(name)", "base_url": "http://h.example", "api_key": "k"}"#, "kind"),
                (#"{"name": "\#(name)", "kind": "openai", "base_url": "ftp://h.example", "api_key": "k"}"#, "base_url"),
                (#"{"name": "\#(name)", "kind": "openai", "base_url": "not a url", "api_key": "k"}"#, "base_url"),
                (#"{"name": "\#(name)", "kind": "openai", "api_key": "k"}"#, "base_url"),
                (#"{"name": "\#(name)", "kind": "openai", "base_url": "http://h.example"}"#, "api_key"),
                (#"{"name": "\#(name)", "kind": "openai", "base_url": "http://h.example", "api_key": ""}"#, "api_key"),
                (#"{"name": "\#(name)", \#(ok), "rpm": 0}"#, "rpm"),
                (#"{"name": "\#(name)", \#(ok), "tpm": "lots"}"#, "tpm"),
                (#"{"name": "\#(name)", \#(ok), "timeout_seconds": 3601}"#, "timeout_seconds"),
            ]
            for (body, field) in cases {
                let response = try await api.admin(.post, "/api/providers/create", body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.summary)")
                #expect(response.detail?.contains(field) == true, "\(body): \(response.summary)")
            }
            #expect(try await api.admin(.get, "/api/providers/\(name)").status == .notFound)
        }
    }

    @Test("list and get answer providers without their keys; an unknown one is a 404")
    func listAndGet() async throws {
        try await Caller.run { api in
            let secret = "sk-upstream-\(UUID().uuidString)"
            let name = try await api.createProvider(apiKey: secret)
            let list = try await api.admin(.get, "/api/providers")
            #expect(list.status == .ok)
            #expect(list.objects("providers").contains { $0["name"] as? String == name })
            #expect(!list.text.contains(secret))
            #expect(!list.text.contains("api_key"))

            let fetched = try await api.admin(.get, "/api/providers/\(name)")
            #expect(fetched.status == .ok)
            #expect(fetched.string("name") == name)
            #expect((fetched.json?["health"] as? [String: Any])?["circuit_state"] is String)
            #expect(!fetched.text.contains(secret))

            let unknown = Fixture.id("missing-prov")
            let missing = try await api.admin(.get, "/api/providers/\(unknown)")
            #expect(missing.status == .notFound)
            #expect(missing.detail?.contains(unknown) == true)
        }
    }

    @Test("PUT updates what it names, clears limits with null, and never shows the key")
    func update() async throws {
        try await Caller.run { api in
            let name = try await api.createProvider()
            let secret = "sk-rotated-upstream-\(UUID().uuidString)"
            let updated = try await api.admin(
                .put,
                "/api/providers/\(name)",
                #"{"base_url": "https://new.example.com/api", "api_key": "\#(secret)", "rpm": 100, "tpm": 5000, "timeout_seconds": 45}"#
            )
            #expect(updated.status == .ok, "\(updated.summary)")
            #expect(updated.string("base_url") == "https://new.example.com/api")
            #expect(updated.string("kind") == "openai")
            #expect(updated.int("rpm") == 100)
            #expect(updated.int("tpm") == 5000)
            #expect(updated.int("timeout_seconds") == 45)
            #expect(!updated.text.contains(secret))

            let partial = try await api.admin(.put, "/api/providers/\(name)", #"{"kind": "anthropic", "rpm": null}"#)
            #expect(partial.status == .ok)
            #expect(partial.string("kind") == "anthropic")
            #expect(partial.json?["rpm"] == nil || partial.json?["rpm"] is NSNull)
            #expect(partial.int("tpm") == 5000)
            #expect(partial.string("base_url") == "https://new.example.com/api")

            let bad = try await api.admin(.put, "/api/providers/\(name)", #"{"kind": "cohere"}"#)
            #expect(bad.status == .unprocessableContent)
            #expect(bad.detail?.contains("kind") == true)
            #expect(try await api.admin(.get, "/api/providers/\(name)").string("kind") == "anthropic")

            let unknown = Fixture.id("missing-prov")
            let missing = try await api.admin(.put, "/api/providers/\(unknown)", #"{"rpm": 5}"#)
            #expect(missing.status == .notFound)
            #expect(missing.detail?.contains(unknown) == true)
            #expect(try await api.admin(.get, "/api/providers/\(unknown)").status == .notFound)
        }
    }

    @Test("DELETE: 409 while a model group uses the provider, 200 once none does; then 404")
    func delete() async throws {
        try await Caller.run { api in
            let name = try await api.createProvider()
            let group = try await api.createModelGroup(provider: name)

            let inUse = try await api.admin(.delete, "/api/providers/\(name)")
            #expect(inUse.status == .conflict, "\(inUse.summary)")
            #expect(inUse.detail?.contains(name) == true)
            #expect(try await api.admin(.get, "/api/providers/\(name)").status == .ok)

            #expect(try await api.admin(.delete, "/api/model-groups/\(group)").status == .ok)
            let deleted = try await api.admin(.delete, "/api/providers/\(name)")
            #expect(deleted.status == .ok, "\(deleted.summary)")
            #expect(deleted.json?["deleted"] as? Bool == true)
            #expect(try await api.admin(.get, "/api/providers/\(name)").status == .notFound)
            let again = try await api.admin(.delete, "/api/providers/\(name)")
            #expect(again.status == .notFound)
        }
    }

    @Test("the provider's key is stored encrypted, not in plain text")
    func keyEncryptedAtRest() async throws {
        let secret = "sk-upstream-plain-\(UUID().uuidString)"
        let name = try await TestApp.test { client in
            try await Caller(client: client).createProvider(apiKey: secret)
        }
        try await Database.with { postgres in
            let rows = try await postgres.query("SELECT * FROM providers WHERE name = $1", [.text(name)])
            #expect(rows.count == 1)
            for row in rows {
                for column in rows.columns {
                    let value = try row.text(column) ?? ""
                    #expect(!value.contains(secret), "providers.\(column) holds the key")
                    #expect(!value.lowercased().contains(Array(secret.utf8).hex), "providers.\(column) holds the key's bytes")
                }
                let sealed = try #require(try row.decodeIfPresent("api_key_encrypted", as: PostgresBytes.self))
                #expect(sealed.bytes.count > secret.utf8.count, "nonce and tag around the ciphertext")
            }
        }
    }
}
