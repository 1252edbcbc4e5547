import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Shared
import Testing

@testable import API

@Suite("Audit log: admin actions and aggregated failed authentications")
struct AuditTests {
    /// The admin key's audit name: `admin:` and a fingerprint, never the key.
    static let adminActor = "admin:\(keyFingerprint(Fixture.adminKey))"

    /// Audit events, newest first, from the first page down to the ones created before `since`
    /// (aggregated rows move their `created_at` forward, so only plain rows decide where to stop).
    static func events(_ api: Caller, since: Date, maxPages: Int = 60) async throws -> (events: [[String: Any]], text: String) {
        let floor = JSONCoding.timestamp(since)
        var events: [[String: Any]] = []
        var text = ""
        var cursor: String?
        var pages = 0
        repeat {
            var uri = "/api/admin/audit?limit=100"
            if let cursor { uri += "&cursor=\(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }
            let response = try await api.admin(.get, uri)
            try #require(response.status == .ok, "\(response.summary)")
            let page = response.objects("events")
            events += page
            text += response.text
            pages += 1
            cursor = response.json?["next_cursor"] as? String
            let plain = page.filter { $0["window_start"] == nil || $0["window_start"] is NSNull }
            if let oldest = plain.last?["created_at"] as? String, oldest < floor { break }
        } while cursor != nil && pages < maxPages
        return (events, text)
    }

    static func requestID(_ event: [String: Any]) -> String? {
        (event["details"] as? [String: Any])?["request_id"] as? String
    }

    @Test("admin mutations are recorded with the key's fingerprint as actor, the action, target and outcome")
    func adminMutations() async throws {
        try await Caller.run { api in
            let since = Date().addingTimeInterval(-30)
            let createID = "audit-\(UUID().uuidString)"
            let conflictID = "audit-\(UUID().uuidString)"
            let addID = "audit-\(UUID().uuidString)"
            let readID = "audit-\(UUID().uuidString)"
            let org = Fixture.id("org")
            let body = #"{"organization_id": "\#(org)", "name": "Audited"}"#
            #expect(try await api.admin(.post, "/api/organizations/create", body, headers: [.xRequestID: createID]).status == .ok)
            #expect(try await api.admin(.post, "/api/organizations/create", body, headers: [.xRequestID: conflictID]).status == .conflict)
            let team = try await api.createTeam(organization: org)
            #expect(try await api.admin(.post, "/api/credits/teams/\(team.id)/add", #"{"credits": 3}"#, headers: [.xRequestID: addID]).status == .ok)
            #expect(try await api.admin(.get, "/api/teams/\(team.id)", headers: [.xRequestID: readID]).status == .ok)

            let (events, text) = try await Self.events(api, since: since)
            let byRequest = Dictionary(events.compactMap { e in Self.requestID(e).map { ($0, e) } }, uniquingKeysWith: { a, _ in a })

            let created = try #require(byRequest[createID], "the create is in the audit log")
            #expect(created["actor"] as? String == Self.adminActor)
            #expect(created["action"] as? String == "POST /api/organizations/create")
            #expect((created["outcome"] as? String)?.hasPrefix("success") == true)
            #expect(Fixture.isTimestamp(created["created_at"]))
            #expect(TestResponse.int(created["count"]) == 1)
            #expect(created["audit_id"] is NSNumber)

            let conflict = try #require(byRequest[conflictID], "a refused mutation is recorded too")
            #expect(conflict["actor"] as? String == Self.adminActor)
            #expect((conflict["outcome"] as? String)?.hasPrefix("failure") == true)
            #expect((conflict["outcome"] as? String)?.contains("409") == true)

            let added = try #require(byRequest[addID])
            #expect(added["actor"] as? String == Self.adminActor)
            #expect(added["action"] as? String == "POST /api/credits/teams/{team_id}/add")
            #expect((added["target"] as? String)?.contains(team.id) == true)

            #expect(byRequest[readID] == nil, "reads are not audited")
            #expect(!text.contains(Fixture.adminKey), "the audit log shows the admin key")
            #expect(!text.contains(team.key))
            #expect(Self.adminActor.range(of: #"^admin:[0-9a-f]{8,}$"#, options: .regularExpression) != nil)
        }
    }

    @Test("failed authentications appear aggregated, with a count, after the recorder flushes; never the key")
    func failedAuthentications() async throws {
        try await Caller.run { api in
            let windowFloor = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 60)
            let since = windowFloor.addingTimeInterval(-10)
            let floor = JSONCoding.timestamp(windowFloor)
            func counts(_ events: [[String: Any]]) -> [String: Int] {
                var counts: [String: Int] = [:]
                for event in events {
                    guard let window = event["window_start"] as? String, window >= floor, let action = event["action"] as? String else { continue }
                    counts[action, default: 0] += TestResponse.int(event["count"]) ?? 0
                }
                return counts
            }
            let before = counts(try await Self.events(api, since: since).events)

            let badAdmin = "sk-bad-admin-\(UUID().uuidString)"
            let badTeam = "sk-\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))\(UUID().uuidString.prefix(8))"
            for _ in 0..<5 { _ = try await api.send(.get, "/api/organizations", headers: [.xAdminKey: badAdmin]) }
            for _ in 0..<4 { _ = try await api.send(.get, "/api/organizations") }
            for _ in 0..<6 { _ = try await api.team(badTeam, .get, "/api/me") }
            for _ in 0..<3 { _ = try await api.send(.get, "/api/me") }

            var after: [String: Int] = [:]
            var seen: (events: [[String: Any]], text: String) = ([], "")
            let flushed = try await Fixture.eventually(within: .seconds(6), every: .milliseconds(500)) {
                seen = try await Self.events(api, since: since)
                after = counts(seen.events)
                return after["auth.admin.invalid_key", default: 0] >= before["auth.admin.invalid_key", default: 0] + 5
                    && after["auth.admin.missing_key", default: 0] >= before["auth.admin.missing_key", default: 0] + 4
                    && after["auth.team.invalid_key", default: 0] >= before["auth.team.invalid_key", default: 0] + 6
                    && after["auth.team.missing_key", default: 0] >= before["auth.team.missing_key", default: 0] + 3
            }
            #expect(flushed, "before \(before), after \(after)")

            let aggregated = seen.events.filter { ($0["window_start"] as? String).map { $0 >= floor } == true }
            #expect(aggregated.contains { TestResponse.int($0["count"]) ?? 0 >= 2 }, "several failures share one row")
            for event in aggregated {
                #expect(event["outcome"] as? String == "denied")
                let window = event["window_start"] as? String ?? ""
                #expect(window.hasSuffix(":00.000Z"), "a minute's window: \(window)")
                #expect((event["actor"] as? String)?.hasPrefix("admin:") == false)
            }
            #expect(!seen.text.contains(badAdmin), "the audit log shows a presented key")
            #expect(!seen.text.contains(String(badTeam.dropFirst(3))), "the audit log shows a presented key")
        }
    }

    @Test("the audit list pages newest first with the opaque cursor; limit is clamped")
    func pagination() async throws {
        try await Caller.run { api in
            // Five rows of its own: two pages of two are there even on a fresh database, where
            // this test may run before any other writes to the (global) audit log.
            for _ in 0..<5 { _ = try await api.createOrganization() }
            let first = try await api.admin(.get, "/api/admin/audit?limit=2")
            #expect(first.status == .ok)
            let page1 = first.objects("events")
            #expect(page1.count == 2)
            let cursor = try #require(first.json?["next_cursor"] as? String)
            let second = try await api.admin(
                .get,
                "/api/admin/audit?limit=2&cursor=\(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
            )
            let page2 = second.objects("events")
            #expect(page2.count == 2)
            let ids1 = page1.compactMap { TestResponse.int($0["audit_id"]) }
            let ids2 = page2.compactMap { TestResponse.int($0["audit_id"]) }
            #expect(ids1 == ids1.sorted(by: >))
            #expect(ids2 == ids2.sorted(by: >))
            #expect((ids1.min() ?? 0) > (ids2.max() ?? .max), "the second page is older")

            let clamped = try await api.admin(.get, "/api/admin/audit?limit=5000")
            #expect(clamped.status == .ok)
            #expect(clamped.objects("events").count <= 100)
            for query in ["limit=0", "limit=x", "cursor=@@@"] {
                #expect(try await api.admin(.get, "/api/admin/audit?\(query)").status == .unprocessableContent, "\(query)")
            }
        }
    }
}
