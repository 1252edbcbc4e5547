import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API

@Suite("Health, readiness and the HTTP conventions")
struct OperationsTests {
    @Test("/health answers 200 while the process is up")
    func health() async throws {
        try await TestApp.test { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json?["status"] as? String == "ok")
            }
        }
    }

    @Test("/ready answers 200 when PostgreSQL and Redis answer")
    func ready() async throws {
        try await TestApp.test { client in
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json?["postgres"] as? String == "ok")
                #expect(response.json?["redis"] as? String == "ok")
            }
        }
    }

    @Test("/ready answers 503 with the reason when Redis or PostgreSQL does not answer")
    func notReady() async throws {
        try await TestApp.test(["REDIS_URL": "redis://127.0.0.1:1/0"]) { client in
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.detail?.hasPrefix("Redis is not reachable") == true)
                #expect(response.json?["postgres"] as? String == "ok")
            }
        }
        try await TestApp.test(["DATABASE_URL": "postgresql://saas:saas@127.0.0.1:1/saas_test"]) { client in
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.detail?.contains("PostgreSQL is not reachable") == true)
            }
        }
    }

    @Test("/ready's reason names no host, port, user, password or database (issue 8, item 16)")
    func notReadyNamesNothing() async throws {
        let secrets = ["ready-user", "ready-password", "127.0.0.1", "ready_db", ":1", "6399"]
        try await TestApp.test([
            "DATABASE_URL": "postgresql://ready-user:ready-password@127.0.0.1:1/ready_db",
            "REDIS_URL": "redis://:ready-password@127.0.0.1:6399/0",
        ]) { client in
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = String(buffer: response.body)
                #expect(response.detail == "PostgreSQL is not reachable; Redis is not reachable", "\(body)")
                for secret in secrets {
                    #expect(!body.contains(secret), "/ready names '\(secret)': \(body)")
                }
            }
        }
    }

    @Test("an unknown path is a JSON 404")
    func unknownPath() async throws {
        try await TestApp.test { client in
            try await client.execute(uri: "/api/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                #expect(response.detail == "Not found")
            }
        }
    }

    @Test("a known path with a wrong method is a JSON 405 with Allow")
    func wrongMethod() async throws {
        try await TestApp.test { client in
            for method in [HTTPRequest.Method.post, .put, .patch, .delete] {
                try await client.execute(uri: "/health", method: method) { response in
                    #expect(response.status == .methodNotAllowed)
                    #expect(response.headers[.allow] == "GET")
                    #expect(response.detail == "Method not allowed")
                }
            }
        }
    }

    @Test("every answer carries X-Request-Id, the caller's when it sent one")
    func requestID() async throws {
        let header = HTTPField.Name("X-Request-Id")!
        try await TestApp.test { client in
            try await client.execute(uri: "/health", method: .get, headers: [header: "trace-123"]) { response in
                #expect(response.headers[header] == "trace-123")
            }
            try await client.execute(uri: "/nope", method: .get) { response in
                #expect(UUID(uuidString: response.headers[header] ?? "") != nil)
            }
            // A header that could inject into logs is replaced.
            try await client.execute(uri: "/health", method: .get, headers: [header: "bad id\twith tab"]) { response in
                #expect(response.headers[header] != "bad id\twith tab")
            }
        }
    }
}
