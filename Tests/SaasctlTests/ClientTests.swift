import ArgumentParser
import AsyncHTTPClient
import Foundation
import Testing

@testable import Saasctl

/// The client against odd servers: every answer ends in a value or a failure with its exit code,
/// never a trap or an endless wait.
@Suite struct ClientTests {
    static func settings(_ url: String, timeout: Duration = .seconds(5)) throws -> Settings {
        Settings(baseURL: try BaseURL(url), adminKey: "sk-admin-test-key", teamKey: "sk-team-test-key", requestTimeout: timeout)
    }

    static func call(
        _ server: CannedServer,
        timeout: Duration = .seconds(5),
        _ path: String = "/api/teams"
    ) async throws -> Result<JSONValue, CommandFailure> {
        try await APIClient.with(try settings(server.url, timeout: timeout)) { client in
            do throws(CommandFailure) {
                return .success(try await client.call(.GET, path))
            } catch {
                return .failure(error)
            }
        }
    }

    @Test func aJSONAnswerIsReturnedAndTheAdminKeySent() async throws {
        let server = try CannedServer([.json(200, #"{"teams":[],"next_cursor":null}"#)])
        defer { server.stop() }
        let result = try await Self.call(server)
        #expect(try result.get()[path: "teams"] == .array([]))
        let head = try #require(server.requests.first)
        #expect(head.hasPrefix("GET /api/teams HTTP/1.1"))
        #expect(head.contains("X-Admin-Key: sk-admin-test-key"))
    }

    @Test func aRefusalIsExit1WithTheDetail() async throws {
        let server = try CannedServer([.json(404, #"{"detail":"Team 'x' not found"}"#)])
        defer { server.stop() }
        #expect(try await Self.call(server) == .failure(CommandFailure(.refused, "Team 'x' not found")))
    }

    @Test func anAuthFailureIsExit4() async throws {
        let server = try CannedServer([.json(401, #"{"detail":"Invalid admin API key"}"#)])
        defer { server.stop() }
        #expect(try await Self.call(server) == .failure(CommandFailure(.authFailed, "Invalid admin API key")))
    }

    @Test func aForbiddenRequestIsARefusalButASuspendedTeamIsExit4() async throws {
        let foreign = try CannedServer([.json(403, #"{"detail":"Cannot access jobs for a different team"}"#)])
        defer { foreign.stop() }
        #expect(try await Self.call(foreign) == .failure(CommandFailure(.refused, "Cannot access jobs for a different team")))
        let suspended = try CannedServer([.json(403, #"{"detail":"Team access is suspended. Please contact support."}"#)])
        defer { suspended.stop() }
        #expect(try await Self.call(suspended) == .failure(CommandFailure(.authFailed, "Team access is suspended. Please contact support.")))
    }

    @Test func aKeyTheHTTPClientRefusesIsNeverInTheMessage() async throws {
        // Settings made by hand, past `resolve`'s check: the client's own refusal must not carry it either.
        let server = try CannedServer([.json(200, "{}")])
        defer { server.stop() }
        let settings = Settings(baseURL: try BaseURL(server.url), adminKey: "sk-admin-secret-123\r", teamKey: nil, requestTimeout: .seconds(5))
        let failure: CommandFailure? = try await APIClient.with(settings) { client in
            do throws(CommandFailure) {
                _ = try await client.call(.GET, "/api/teams")
                return nil
            } catch {
                return error
            }
        }
        #expect(failure?.status == .unavailable)
        #expect(failure?.message.contains("sk-admin-secret") == false, "\(String(describing: failure))")
        #expect(failure?.message.contains("header") == true, "\(String(describing: failure))")
    }

    @Test(arguments: [
        HTTPClientError.invalidHeaderFieldValues(["sk-leak-1"]), .invalidHeaderFieldNames(["sk-leak-1"]), .unsupportedScheme("sk-leak-1"),
        .serverOfferedUnsupportedApplicationProtocol("sk-leak-1"), .internalStateFailure(file: "sk-leak-1", line: 1), .remoteConnectionClosed,
        .cancelled, .writeTimeout,
    ])
    func anHTTPClientErrorIsToldWithoutItsValues(error: HTTPClientError) throws {
        let failure = APIClient.failure(for: error, url: try BaseURL("http://api:1"), waited: .seconds(1))
        #expect(failure.status == .unavailable)
        #expect(!failure.message.contains("sk-leak-1"), "\(failure.message)")
        #expect(!failure.message.contains("HTTPClientError"), "\(failure.message)")
        #expect(failure.message.hasPrefix("no answer from the API at http://api:1: "))
    }

    @Test func anyOtherErrorHasTheKeysBlankedOut() throws {
        struct Quoting: Error, CustomStringConvertible {
            var description: String { "refused header X-Admin-Key: sk-admin-q and Bearer sk-team-q" }
        }
        let failure = APIClient.failure(
            for: Quoting(),
            url: try BaseURL("http://api:1"),
            waited: .seconds(1),
            secrets: ["sk-admin-q", "sk-team-q", nil]
        )
        #expect(failure.message == "cannot reach the API at http://api:1: refused header X-Admin-Key: [key] and Bearer [key]")
    }

    @Test func aServerErrorIsExit3() async throws {
        let server = try CannedServer([Reply(status: 500, body: Array("<html>oops</html>".utf8))])
        defer { server.stop() }
        let failure = try #require(try await Self.call(server).failure)
        #expect(failure.status == .unavailable)
        #expect(failure.message.contains("HTTP 500"))
    }

    @Test func aSuccessThatIsNotJSONIsExit3() async throws {
        let server = try CannedServer([Reply(status: 200, body: Array("hello, not json".utf8))])
        defer { server.stop() }
        #expect(try await Self.call(server).failure?.status == .unavailable)
    }

    @Test func aHugeAnswerIsRefusedNotRead() async throws {
        let huge = Array(repeating: UInt8(ascii: " "), count: APIClient.maxAnswerBytes + 1024)
        let server = try CannedServer([Reply(status: 200, body: huge)])
        defer { server.stop() }
        let failure = try #require(try await Self.call(server).failure)
        #expect(failure.status == .unavailable)
        #expect(failure.message.contains("larger than 16 MiB"))
    }

    @Test func aSlowServerIsExit3WithinTheTimeout() async throws {
        // The server would answer after 20 s: ending well before shows the 0.5 s deadline ended
        // the wait (bounded loosely: a loaded 2-core CI machine took 5 s here).
        let server = try CannedServer([Reply(status: 200, body: Array("{}".utf8), delay: 20)])
        defer { server.stop() }
        let started = ContinuousClock.now
        let failure = try #require(try await Self.call(server, timeout: .milliseconds(500)).failure)
        #expect(failure.status == .unavailable)
        #expect(failure.message.contains("did not answer"))
        #expect(ContinuousClock.now - started < .seconds(12))
    }

    @Test func anUnreachableAPIIsExit3() async throws {
        // Port 1 (tcpmux): nothing listens there; a port freed by the test could be taken again
        // by a parallel test's server.
        let failure: CommandFailure? = try await APIClient.with(try Self.settings("http://127.0.0.1:1")) { client in
            do throws(CommandFailure) {
                _ = try await client.call(.GET, "/api/teams")
                return nil
            } catch {
                return error
            }
        }
        #expect(failure?.status == .unavailable)
        #expect(failure?.message.contains("cannot reach the API") == true, "\(String(describing: failure))")
        #expect(failure?.message.contains("sk-admin-test-key") == false)
    }

    @Test func aRedirectIsNotFollowed() async throws {
        let server = try CannedServer([Reply(status: 302, headers: ["Location: http://127.0.0.1:1/elsewhere"])])
        defer { server.stop() }
        #expect(try await Self.call(server).failure?.status == .unavailable)
        #expect(server.requests.count == 1)
    }

    @Test func listsFollowTheirCursorWithAll() async throws {
        let server = try CannedServer([
            .json(200, #"{"jobs":[{"job_id":"a"}],"next_cursor":"c1"}"#),
            .json(200, #"{"jobs":[{"job_id":"b"}],"next_cursor":"c/2+"}"#),
            .json(200, #"{"jobs":[{"job_id":"c"}],"next_cursor":null}"#),
        ])
        defer { server.stop() }
        var options = try ListOptions.parse(["--all", "--limit", "1"])
        options.all = true
        let (items, next) = try await APIClient.with(try Self.settings(server.url)) { client in
            try await Lister(client: client, path: "/api/admin/jobs", key: "jobs", query: [("team_id", "t 1")]).read(options)
        }
        #expect(items.map { $0[path: "job_id"] } == ["a", "b", "c"])
        #expect(next == nil)
        let lines = server.requests.map { $0.components(separatedBy: "\r\n")[0] }
        #expect(
            lines == [
                "GET /api/admin/jobs?team_id=t%201&limit=1 HTTP/1.1",
                "GET /api/admin/jobs?team_id=t%201&limit=1&cursor=c1 HTTP/1.1",
                "GET /api/admin/jobs?team_id=t%201&limit=1&cursor=c%2F2%2B HTTP/1.1",
            ]
        )
    }

    @Test func aRepeatedCursorStopsTheList() async throws {
        let server = try CannedServer([
            .json(200, #"{"jobs":[],"next_cursor":"same"}"#), .json(200, #"{"jobs":[],"next_cursor":"same"}"#),
        ])
        defer { server.stop() }
        let options = try ListOptions.parse(["--all"])
        await #expect(throws: CommandFailure.unavailable("the API repeated a cursor; stopping")) {
            try await APIClient.with(try Self.settings(server.url)) { client in
                try await Lister(client: client, path: "/api/admin/jobs", key: "jobs").read(options)
            }
        }
    }

    @Test func baseURLsAreChecked() throws {
        #expect(try BaseURL("http://127.0.0.1:8003/").url("/api/teams") == "http://127.0.0.1:8003/api/teams")
        #expect(try BaseURL("https://saas.example.com/prefix").url("/api/me") == "https://saas.example.com/prefix/api/me")
        for bad in ["ftp://x", "127.0.0.1:8003", "http://user:pw@host", "http://host/?q=1", "", "http://"] {
            #expect(throws: CommandFailure.self, "\(bad)") { try BaseURL(bad) }
        }
        #expect(BaseURL.encode("a b/c?d") == "a%20b%2Fc%3Fd")
    }
}

typealias Reply = CannedServer.Reply

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
