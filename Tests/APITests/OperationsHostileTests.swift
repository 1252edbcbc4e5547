import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API
@testable import Shared

/// Issue 12's routes under hostile input: the dashboard's forms (which `GeneratedInputTests`
/// does not reach: they take forms, not JSON), the fleet controls, and the operations pages
/// asked a thousand times at once. Every answer is below 500 and nothing changes.
@Suite("Operations routes under hostile input")
struct OperationsHostileTests {
    typealias Browser = DashboardTests.Browser

    @Test("sign-in: a 10 MB body, U+0000 in the key, a garbage session cookie — refused, no session, no 5xx")
    func signInRefusals() async throws {
        try await Caller.run { api in
            let huge = try await api.send(
                .post,
                "/admin/login",
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: "key=" + String(repeating: "k", count: 10 * 1024 * 1024)
            )
            #expect((400..<500).contains(huge.status.code), "\(huge.status)")
            #expect(DashboardTests.sessionCookie(huge) == nil)

            let (nul, browser) = try await Browser.signIn(api, key: Fixture.adminKey + "\u{0}")
            #expect(nul.status == .unauthorized)
            #expect(browser.cookie == nil)

            let forged = Browser(api: api, cookie: String(repeating: "A", count: 8_000))
            let page = try await forged.get("/admin")
            #expect(page.status == .seeOther, "\(page.status)")
            #expect(page.headers[.location] == "/admin/login")
        }
    }

    @Test("the credits form: 1e308, 20 digits, U+0000, a 10 MB reason — refused, the balance unchanged")
    func creditsFormRefusals() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 100)
            let (_, browser) = try await Browser.signIn(api)
            let teamPage = "/admin/teams/\(team.id)"
            let csrf = try await browser.csrf(teamPage)
            let forms: [[(String, String)]] = [
                [("csrf", csrf), ("credits", "1e308"), ("reason", "r")],
                [("csrf", csrf), ("credits", "99999999999999999999"), ("reason", "r")],
                [("csrf", csrf), ("credits", "5\u{0}"), ("reason", "r")],
                [("csrf", csrf), ("credits", "5"), ("reason", "a\u{0}b")],
                [("csrf", csrf), ("credits", "5"), ("reason", String(repeating: "r", count: 10 * 1024 * 1024))],
            ]
            for form in forms {
                let answer = try await browser.post("\(teamPage)/credits", form)
                #expect(answer.status.code < 500, "\(form.map(\.0)): \(answer.status)")
                #expect(try await api.remaining(team.id) == 100, "\(form.map { String($0.1.prefix(24)) })")
            }
        }
    }

    @Test("fleet controls: a worker id with U+0000 or 10 KB, concurrency 1e308, a 10 MB body — 4xx")
    func fleetRefusals() async throws {
        try await Caller.run { api in
            let (_, browser) = try await Browser.signIn(api)
            let csrf = try await browser.csrf("/admin/workers")
            for id in ["vm-1%00x", String(repeating: "w", count: 10_000)] {
                let form = try await browser.post("/admin/workers/\(id)/concurrency", [("csrf", csrf), ("concurrency", "4")])
                #expect(form.status.code < 500, "\(form.status)")
                let json = try await api.admin(.put, "/api/admin/workers/\(id)/concurrency", #"{"concurrency": 4}"#)
                #expect((400..<500).contains(json.status.code), "\(json.summary)")
            }
            for body in [#"{"concurrency": 1e308}"#, #"{"concurrency": -1}"#, #"{"concurrency": "4\u0000"}"#] {
                let answer = try await api.admin(.put, "/api/admin/workers/vm-nobody/concurrency", body)
                #expect((400..<500).contains(answer.status.code), "\(body): \(answer.summary)")
            }
            // (Not the pause: it is fleet-wide, and FleetControlTests pauses the same queue.)
            let huge = try await api.admin(
                .put,
                "/api/admin/workers/vm-nobody/concurrency",
                #"{"concurrency": 4, "x": ""# + String(repeating: "x", count: 10 * 1024 * 1024) + #""}"#
            )
            #expect((400..<500).contains(huge.status.code), "\(huge.status)")
        }
    }

    @Test("a thousand requests at once to /metrics, /openapi.json, /docs and the sign-in page: all answered, none 5xx")
    func thousandAtOnce() async throws {
        try await Caller.run { api in
            let paths = ["/metrics", "/openapi.json", "/docs", "/admin/login"]
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<1000 {
                    group.addTask { try await api.send(.get, paths[index % paths.count]).status.code }
                }
                var statuses: [Int] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            #expect(statuses.count == 1000)
            #expect(statuses.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
        }
    }
}
