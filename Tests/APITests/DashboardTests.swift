import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import API
@testable import Shared

/// The admin dashboard in-process: signing in, the session cookie's flags, pages behind the
/// session, CSRF on every form, expiry, and tenants' words escaped.
@Suite("Admin dashboard: sessions, CSRF and escaping")
struct DashboardTests {
    /// A browser of one: the session cookie it was given, and the CSRF token of the last page.
    struct Browser: Sendable {
        let api: Caller
        var cookie: String?

        /// Signs in with `key`; the answer and, on success, a browser holding the session.
        static func signIn(_ api: Caller, key: String = Fixture.adminKey) async throws -> (TestResponse, Browser) {
            let response = try await api.send(
                .post,
                "/admin/login",
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: "key=\(DashboardTests.formEncoded(key))"
            )
            return (response, Browser(api: api, cookie: DashboardTests.sessionCookie(response)))
        }

        func get(_ uri: String) async throws -> TestResponse {
            var headers: HTTPFields = [:]
            if let cookie { headers[.cookie] = "\(DashboardGate.cookieName)=\(cookie)" }
            return try await api.send(.get, uri, headers: headers)
        }

        func post(_ uri: String, _ form: [(String, String)]) async throws -> TestResponse {
            var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            if let cookie { headers[.cookie] = "\(DashboardGate.cookieName)=\(cookie)" }
            let body = form.map { "\($0.0)=\(DashboardTests.formEncoded($0.1))" }.joined(separator: "&")
            return try await api.send(.post, uri, headers: headers, body: body)
        }

        /// The CSRF token the page at `uri` puts in its forms.
        func csrf(_ uri: String = "/admin") async throws -> String {
            let page = try await get(uri)
            try #require(page.status == .ok, "\(uri): \(page.status)")
            return try #require(DashboardTests.csrf(in: page.text), "no csrf field on \(uri)")
        }
    }

    static func formEncoded(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// The session token of a `Set-Cookie` answer, if it set one with a value.
    static func sessionCookie(_ response: TestResponse) -> String? {
        for field in response.headers[values: .setCookie] {
            let first = field.split(separator: ";").first.map(String.init) ?? ""
            let prefix = "\(DashboardGate.cookieName)="
            if first.hasPrefix(prefix), first.count > prefix.count { return String(first.dropFirst(prefix.count)) }
        }
        return nil
    }

    static func csrf(in html: String) -> String? {
        guard let range = html.range(of: #"name="csrf" value="[^"]+""#, options: .regularExpression) else { return nil }
        return html[range].split(separator: "\"").dropFirst(3).first.map(String.init)
    }

    static let pages = ["/admin", "/admin/teams", "/admin/jobs", "/admin/workers", "/admin/providers", "/admin/audit"]

    @Test("a wrong or empty key is a 401 sign-in page with an error and no cookie")
    func wrongKey() async throws {
        try await Caller.run { api in
            let (wrong, browser) = try await Browser.signIn(api, key: "sk-admin-not-this-one")
            #expect(wrong.status == .unauthorized)
            #expect(browser.cookie == nil)
            #expect(wrong.text.contains("That is not the admin key"))
            #expect(wrong.text.contains(#"name="key""#))
            #expect(!wrong.text.contains("sk-admin-not-this-one"), "the typed key is never echoed")
            let (empty, _) = try await Browser.signIn(api, key: "")
            #expect(empty.status == .unauthorized)
            #expect(empty.text.contains("Enter the admin key"))
            let (spaced, _) = try await Browser.signIn(api, key: "\(Fixture.adminKey)\r\nX: y")
            #expect(spaced.status == .unauthorized)
        }
    }

    @Test("the right key sets an HttpOnly, SameSite=Strict cookie on /admin holding neither the key nor its fingerprint")
    func rightKey() async throws {
        try await Caller.run { api in
            let (response, browser) = try await Browser.signIn(api)
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/admin")
            let setCookie = try #require(response.headers[values: .setCookie].first { $0.hasPrefix(DashboardGate.cookieName) })
            let attributes = setCookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            #expect(attributes.contains("httponly"))
            #expect(attributes.contains("samesite=strict"))
            #expect(attributes.contains("path=/admin"))
            #expect(!attributes.contains("secure"), "Secure only in production (tests talk plain HTTP)")
            let token = try #require(browser.cookie)
            #expect(token.count == 43)
            #expect(!setCookie.contains(Fixture.adminKey) && !setCookie.contains(keyFingerprint(Fixture.adminKey)))

            for page in Self.pages {
                let answer = try await browser.get(page)
                #expect(answer.status == .ok, "\(page): \(answer.status)")
                #expect(answer.headers[.contentType] == "text/html; charset=utf-8")
                #expect(answer.headers[HTTPField.Name("Content-Security-Policy")!]?.hasPrefix("default-src 'self'") == true)
                #expect(answer.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                #expect(answer.headers[HTTPField.Name("Referrer-Policy")!] == "same-origin")
                #expect(!answer.text.contains(Fixture.adminKey), "\(page) never holds the admin key")
                #expect(Self.csrf(in: answer.text) != nil, "\(page) has the sign-out form")
            }
        }
    }

    @Test("the production cookie is Secure")
    func secureInProduction() async throws {
        let key = "sk-admin-\(UUID().uuidString)-\(UUID().uuidString)"
        try await TestApp.test(["ENVIRONMENT": "production", "MASTER_KEY": key, "PROVIDER_KEY_SECRET": Data(count: 32).base64EncodedString()]) {
            client in
            let (response, _) = try await Browser.signIn(Caller(client: client), key: key)
            #expect(response.status == .seeOther)
            let setCookie = try #require(response.headers[values: .setCookie].first)
            #expect(setCookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.contains("secure"))
        }
    }

    @Test("pages and forms need a live session: none, or an unknown one, goes to the sign-in page")
    func pagesNeedSession() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            for cookie in [nil, "x", String(repeating: "A", count: 43)] {
                let browser = Browser(api: api, cookie: cookie)
                for page in Self.pages + ["/admin/teams/\(team.id)", "/admin/jobs/\(UUID().uuidString)"] {
                    let answer = try await browser.get(page)
                    #expect(answer.status == .seeOther, "\(page) with \(cookie ?? "no cookie")")
                    #expect(answer.headers[.location] == "/admin/login")
                }
                let suspend = try await browser.post("/admin/teams/\(team.id)/suspend", [("csrf", "anything")])
                #expect(suspend.status == .seeOther)
                #expect(suspend.headers[.location] == "/admin/login")
            }
            let status = try await api.admin(.get, "/api/teams/\(team.id)").string("status")
            #expect(status == "active")
            let login = try await api.send(.get, "/admin/login")
            #expect(login.status == .ok)
            #expect(login.text.contains(#"type="password""#))
        }
    }

    @Test("a form without its CSRF token, or with another session's, is a 403 and changes nothing")
    func csrfRefused() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 100)
            let (_, browser) = try await Browser.signIn(api)
            let (_, other) = try await Browser.signIn(api)
            let otherToken = try await other.csrf()
            let mine = try await browser.csrf()
            #expect(mine != otherToken)
            // The last variant is the token with its last character changed (to one it is not:
            // a random token ends in "A" one time in 64, and then "A" would be the token itself).
            let altered = String(mine.dropLast()) + (mine.hasSuffix("A") ? "B" : "A")
            for form in [[], [("csrf", "")], [("csrf", otherToken)], [("csrf", altered)]] {
                let suspend = try await browser.post("/admin/teams/\(team.id)/suspend", form)
                #expect(suspend.status == .forbidden)
                #expect(suspend.text.contains("security token"))
                #expect(suspend.headers[.contentType] == "text/html; charset=utf-8")
                let credits = try await browser.post("/admin/teams/\(team.id)/credits", form + [("credits", "50")])
                #expect(credits.status == .forbidden)
                let signOut = try await browser.post("/admin/logout", form)
                #expect(signOut.status == .forbidden)
            }
            #expect(try await api.admin(.get, "/api/teams/\(team.id)").string("status") == "active")
            #expect(try await api.remaining(team.id) == 100)
            #expect(try await browser.get("/admin").status == .ok, "the session outlived the refused sign-out")
        }
    }

    @Test("with its token an action runs, is audited, and leaves a flash for the next page")
    func actionsRun() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 100)
            let (_, browser) = try await Browser.signIn(api)
            let teamPage = "/admin/teams/\(team.id)"
            var csrf = try await browser.csrf(teamPage)
            let suspend = try await browser.post("\(teamPage)/suspend", [("csrf", csrf)])
            #expect(suspend.status == .seeOther)
            #expect(suspend.headers[.location] == teamPage)
            #expect(try await api.admin(.get, "/api/teams/\(team.id)").string("status") == "suspended")
            let after = try await browser.get(teamPage)
            #expect(after.text.contains("Team \(team.id) suspended"))
            #expect(!(try await browser.get(teamPage)).text.contains("Team \(team.id) suspended"), "a flash is shown once")

            csrf = try await browser.csrf(teamPage)
            let page = try await browser.get(teamPage)
            let idempotency = try #require(page.text.range(of: #"name="idempotency_key" value="[^"]+""#, options: .regularExpression))
            let key = String(page.text[idempotency].split(separator: "\"")[3])
            for _ in 0..<2 {
                let add = try await browser.post(
                    "\(teamPage)/credits",
                    [("csrf", csrf), ("idempotency_key", key), ("credits", "25"), ("reason", "dashboard test")]
                )
                #expect(add.status == .seeOther)
            }
            #expect(try await api.remaining(team.id) == 125, "the same form sent twice adds once")
            let refused = try await browser.post("\(teamPage)/credits", [("csrf", csrf), ("credits", "-3")])
            #expect(refused.status == .seeOther)
            #expect(try await browser.get(teamPage).text.contains("flash error"))
            #expect(try await api.remaining(team.id) == 125)

            let resume = try await browser.post("\(teamPage)/resume", [("csrf", csrf)])
            #expect(resume.status == .seeOther)
            #expect(try await api.admin(.get, "/api/teams/\(team.id)").string("status") == "active")

            // This team's events, paging back until the suspend is found: suites running beside
            // this one write audit events too, so the newest page need not hold them all.
            var events: [[String: Any]] = []
            var cursor: String?
            for _ in 0..<50 {
                let page = try await api.admin(.get, "/api/admin/audit?limit=100" + (cursor.map { "&cursor=\($0)" } ?? ""))
                events += page.objects("events").filter { ($0["target"] as? String)?.contains(team.id) == true }
                cursor = page.string("next_cursor")
                if cursor == nil || events.contains(where: { ($0["action"] as? String) == "POST /admin/teams/{team_id}/suspend" }) { break }
            }
            let actions = events.compactMap { $0["action"] as? String }
            #expect(actions.contains("POST /admin/teams/{team_id}/suspend"))
            #expect(actions.contains("POST /admin/teams/{team_id}/resume"))
            #expect(actions.contains("POST /admin/teams/{team_id}/credits"))
            let actor = events.first { ($0["action"] as? String) == "POST /admin/teams/{team_id}/suspend" }?["actor"] as? String
            #expect(actor == "admin:\(keyFingerprint(Fixture.adminKey))")
        }
    }

    @Test("sign-out ends the session at once")
    func signOut() async throws {
        try await Caller.run { api in
            let (_, browser) = try await Browser.signIn(api)
            let out = try await browser.post("/admin/logout", [("csrf", try await browser.csrf())])
            #expect(out.status == .seeOther)
            #expect(out.headers[.location] == "/admin/login")
            #expect(out.headers[values: .setCookie].contains { $0.hasPrefix("\(DashboardGate.cookieName)=;") && $0.contains("Max-Age=0") })
            #expect(try await browser.get("/admin").status == .seeOther)
        }
    }

    @Test("an idle session expires, and so does a busy one past its absolute lifetime")
    func expiry() async throws {
        // Lifetimes of a few seconds, and only requests sent well inside them held to an answer:
        // on a loaded machine one request can take a second or more to reach the gate.
        try await TestApp.test(["DASHBOARD_SESSION_IDLE_SECONDS": "3", "DASHBOARD_SESSION_MAX_SECONDS": "60"]) { client in
            let (_, browser) = try await Browser.signIn(Caller(client: client))
            let signedIn = ContinuousClock.now
            let early = try await browser.get("/admin/teams").status
            let earlyTook = ContinuousClock.now - signedIn
            #expect(early == .ok || earlyTook > .seconds(2), "a request just after sign-in")
            try await Task.sleep(for: .milliseconds(3500))
            let late = try await browser.get("/admin/teams")
            #expect(late.status == .seeOther)
            #expect(late.headers[.location] == "/admin/login")
        }
        try await TestApp.test(["DASHBOARD_SESSION_IDLE_SECONDS": "60", "DASHBOARD_SESSION_MAX_SECONDS": "5"]) { client in
            let beforeSignIn = ContinuousClock.now
            let (_, browser) = try await Browser.signIn(Caller(client: client))
            let afterSignIn = ContinuousClock.now
            // Kept busy: a request every half second while the lifetime has seconds to run.
            while ContinuousClock.now - beforeSignIn < .seconds(2) {
                let status = try await browser.get("/admin/teams").status
                let elapsed = ContinuousClock.now - beforeSignIn
                #expect(status == .ok || elapsed > .seconds(4), "a busy session inside its lifetime")
                try await Task.sleep(for: .milliseconds(500))
            }
            try await Task.sleep(for: max(.zero, afterSignIn + .milliseconds(5300) - ContinuousClock.now))
            #expect(try await browser.get("/admin/teams").status == .seeOther, "kept busy, yet past its absolute lifetime")
        }
    }

    @Test("a hostile team alias and metadata are shown escaped")
    func hostileTextEscaped() async throws {
        try await Caller.run { api in
            let hostile = #"<script>alert("x")</script><img src=x onerror=alert(1)>"#
            let team = try await api.createTeam(extra: #", "team_alias": \#(Fixture.quoted(hostile))"#)
            let (_, browser) = try await Browser.signIn(api)
            for page in ["/admin/teams/\(team.id)", "/admin/teams?limit=100"] {
                let html = try await browser.get(page).text
                #expect(!html.contains("<script>"), "\(page)")
                #expect(!html.contains("<img src=x"), "\(page)")
                if page.hasPrefix("/admin/teams/") {
                    #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"))
                }
            }
        }
    }

    @Test("a job's page shows it and its actions; cancel goes through the admin API's logic")
    func jobPage() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 1000)
            let submitted = try await api.team(
                team.key,
                .post,
                "/api/jobs/create",
                #"{"team_id": "\#(team.id)", "job_type": "<b>bold</b>", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}], "metadata": {"note": "<script>x</script>"}}"#
            )
            try #require(submitted.status == .accepted, "\(submitted.summary)")
            let jobID = try #require(submitted.string("job_id"))
            let (_, browser) = try await Browser.signIn(api)
            let list = try await browser.get("/admin/jobs?team_id=\(team.id)")
            #expect(list.text.contains(jobID))
            #expect(list.text.contains("&lt;b&gt;bold&lt;/b&gt;") && !list.text.contains("<b>bold"))
            #expect(try await browser.get("/admin/jobs?team_id=&status=").headers[.location] == "/admin/jobs")
            let page = try await browser.get("/admin/jobs/\(jobID)")
            #expect(page.status == .ok)
            #expect(!page.text.contains("<script>x"))
            #expect(page.text.contains("Cancel job"))
            let csrf = try #require(Self.csrf(in: page.text))
            let cancel = try await browser.post("/admin/jobs/\(jobID)/cancel", [("csrf", csrf)])
            #expect(cancel.status == .seeOther)
            let status = try await api.admin(.get, "/api/admin/jobs/\(jobID)").string("status")
            #expect(status == "cancelled" || status == "cancelling")
            let ended = try await browser.get("/admin/jobs/\(jobID)")
            #expect(ended.status == .ok)
            #expect(!ended.text.contains("Retry job"), "the store retries failed jobs only: a cancelled one gets no Retry")
            let again = try await browser.post("/admin/jobs/\(jobID)/cancel", [("csrf", csrf)])
            #expect(again.status == .seeOther, "a refusal is a flash on the job's page, not an error page")
            #expect(try await browser.get("/admin/jobs/\(UUID().uuidString)").status == .notFound)
        }
    }

    @Test("a session signed in with a MASTER_KEY since rotated is ended: pages and forms go to the sign-in page")
    func rotatedKeyEndsSessions() async throws {
        let old = "sk-admin-old-\(UUID().uuidString)"
        let new = "sk-admin-new-\(UUID().uuidString)"
        try await TestApp.test(["MASTER_KEY": old]) { before in
            let api = Caller(client: before)
            let (_, reader) = try await Browser.signIn(api, key: old)
            let (_, writer) = try await Browser.signIn(api, key: old)
            #expect(try await reader.get("/admin/teams").status == .ok)
            let csrf = try await writer.csrf()
            let readerToken = try #require(reader.cookie)
            let writerToken = try #require(writer.cookie)
            // The API restarted with a new key, on the same Redis.
            try await TestApp.test(["MASTER_KEY": new]) { after in
                let rotated = Caller(client: after)
                let page = try await Browser(api: rotated, cookie: readerToken).get("/admin/teams")
                #expect(page.status == .seeOther)
                #expect(page.headers[.location] == "/admin/login")
                let action = try await Browser(api: rotated, cookie: writerToken).post("/admin/teams/team-none/suspend", [("csrf", csrf)])
                #expect(action.status == .seeOther)
                #expect(action.headers[.location] == "/admin/login", "no action runs under the old key")
                let login = try await Browser(api: rotated, cookie: readerToken).get("/admin/login")
                #expect(login.status == .ok, "signed out: the sign-in form, not a redirect to /admin")
                let (fresh, _) = try await Browser.signIn(rotated, key: new)
                #expect(fresh.status == .seeOther)
            }
            // Gone from Redis, not only refused: even the old key's process no longer finds them.
            #expect(try await reader.get("/admin").headers[.location] == "/admin/login")
            #expect(try await writer.get("/admin").headers[.location] == "/admin/login")
        }
    }

    @Test("Retry is offered only for a failed job submitted with its work, as the store's retry takes")
    func retryOffered() {
        let now = Date()
        let failed = Job(
            jobID: UUID(),
            teamID: "team-a",
            jobType: "t",
            status: .failed,
            priority: 0,
            modelGroup: "g",
            metadata: [:],
            creditsReserved: 1,
            creditsCharged: 0,
            attempts: 1,
            callsDone: 0,
            callsPlanned: 1,
            createdAt: now,
            expiresAt: now
        )
        #expect(DashboardJobsController.canRetry(failed))
        for status in JobStatus.allCases where status != .failed {
            var other = failed
            other.status = status
            #expect(!DashboardJobsController.canRetry(other), "\(status)")
        }
        var stepByStep = failed
        stepByStep.modelGroup = nil
        #expect(!DashboardJobsController.canRetry(stepByStep), "a step-by-step job settles through complete")
        var erased = failed
        erased.contentErasedAt = now
        #expect(!DashboardJobsController.canRetry(erased))
    }

    @Test("the credit form checks its idempotency key as the API checks the header: a bad one adds nothing")
    func creditFormKeyChecked() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 100)
            let (_, browser) = try await Browser.signIn(api)
            let teamPage = "/admin/teams/\(team.id)"
            let csrf = try await browser.csrf(teamPage)
            for key in [String(repeating: "k", count: 256), "clé-\(UUID().uuidString)", "a b"] {
                let add = try await browser.post("\(teamPage)/credits", [("csrf", csrf), ("idempotency_key", key), ("credits", "7")])
                #expect(add.status == .seeOther)
                let page = try await browser.get(teamPage).text
                #expect(page.contains("flash error"), "\(key.prefix(20))")
                #expect(page.contains("Idempotency-Key"), "the API's sentence")
            }
            #expect(try await api.remaining(team.id) == 100)
            let api255 = try await api.admin(
                .post,
                "/api/credits/teams/\(team.id)/add",
                #"{"credits": 7}"#,
                headers: [.idempotencyKey: String(repeating: "k", count: 256)]
            )
            #expect(api255.status == .unprocessableContent, "the same rule on the API's header")
        }
    }

    @Test("session and CSRF tokens: 43 URL-safe characters, and nothing else names a session")
    func tokens() {
        let token = DashboardToken.random()
        #expect(token.count == 43 && DashboardToken.isWellFormed(token))
        #expect(token != DashboardToken.random())
        for bad in ["", String(token.dropLast()), token + "A", String(token.dropLast()) + "+", String(token.dropLast()) + "="] {
            #expect(!DashboardToken.isWellFormed(bad), "\(bad)")
        }
    }
}
