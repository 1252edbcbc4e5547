import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Shared
import Testing

@testable import API

/// The authenticator chains of App+build (hummingbird-auth): which credential wins on the routes
/// both keys open, and the order of 401 and 403. AuthTests covers each route's answers.
@Suite("Authentication chains: team, admin, team-or-admin")
struct AuthChainTests {
    @Test("on the routes both keys open, X-Admin-Key means admin authentication whatever the bearer says")
    func adminHeaderDecides() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam(credits: 4)
            let balance = "/api/credits/teams/\(team.id)/balance"
            let bearer = "Bearer \(team.key)"
            let empty = try await api.send(.get, balance, headers: [.xAdminKey: "", .authorization: bearer])
            #expect(empty.status == .unauthorized)
            #expect(empty.detail == AuthTests.missingAdmin)
            let wrong = try await api.send(.get, balance, headers: [.xAdminKey: "wrong", .authorization: bearer])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.detail == AuthTests.invalidAdmin)
            let admin = try await api.send(.get, balance, headers: [.xAdminKey: Fixture.adminKey, .authorization: "Bearer sk-not-a-key"])
            #expect(admin.status == .ok, "\(admin.summary)")
            #expect(try await api.team(team.key, .get, balance).int("credits_remaining") == 4)
            // Neither key: the route asks for the team's.
            let none = try await api.send(.get, balance)
            #expect(none.status == .unauthorized)
            #expect(none.detail == AuthTests.missingTeam)
        }
    }

    @Test("a suspended team: 401 for a bad key first, then 403; the admin key still reads its balance")
    func suspensionAfterAuthentication() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/suspend").status == .ok)
            let refused = try await Fixture.eventually(within: .milliseconds(1200), every: .milliseconds(50)) {
                try await api.team(team.key, .get, "/api/me").status == .forbidden
            }
            #expect(refused)
            for path in ["/api/me", "/api/credits/teams/\(team.id)/balance"] {
                let suspended = try await api.team(team.key, .get, path)
                #expect(suspended.status == .forbidden, "\(path): \(suspended.summary)")
                #expect(suspended.detail == AuthTests.suspended, "\(path)")
                let unknown = try await api.team(team.key + "x", .get, path)
                #expect(unknown.status == .unauthorized, "\(path)")
                #expect(unknown.detail == AuthTests.invalidTeam, "\(path)")
            }
            #expect(try await api.admin(.get, "/api/credits/teams/\(team.id)/balance").status == .ok)
        }
    }

    @Test("the identity a chain sets is the one handlers read")
    func identityReachesHandlers() async throws {
        try await Caller.run { api in
            let team = try await api.createTeam()
            let me = try await api.team(team.key, .get, "/api/me")
            #expect(me.status == .ok)
            #expect(me.string("team_id") == team.id)
        }
    }

    @Test("bearer tokens: the scheme in any case, nothing else")
    func bearerToken() {
        #expect(TeamAuthenticator.bearerToken("Bearer sk-1") == "sk-1")
        #expect(TeamAuthenticator.bearerToken("bEaReR  sk-1 ") == "sk-1")
        for header in [nil, "", "Bearer", "Bearer ", "Basic sk-1", "sk-1"] as [String?] {
            #expect(TeamAuthenticator.bearerToken(header) == nil, "\(header ?? "nil")")
        }
    }
}
