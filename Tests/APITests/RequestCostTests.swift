import Foundation
import Shared
import Testing
import UUIDText

@testable import API

/// The cheaper spellings of per-request work give the answers of the general ones.
@Suite("Per-request shortcuts answer as the general code")
struct RequestCostTests {
    @Test("a UUID's lowercase text is uuidString.lowercased()")
    func uuidText() {
        for uuid in [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))] + (0..<2_000).map({ _ in UUID() }) {
            #expect(UUIDText.lowercased(uuid) == uuid.uuidString.lowercased())
        }
        let max = UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255))
        #expect(UUIDText.lowercased(max) == "ffffffff-ffff-ffff-ffff-ffffffffffff")
    }

    /// The token as the authenticator read every header before its shortcut.
    private static func generalBearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }

    @Test("the bearer token's shortcut reads every header as the general reading does")
    func bearerShortcut() {
        var headers = [
            "Bearer sk-1", "bearer sk-1", "BEARER sk-1", "bEaReR  sk-1 ", "Bearer", "Bearer ", "Bearer  ", "Bearersk-1", "Basic abc",
            "Bearer sk 1", "Bearer sk-1\t", "Bearer\tsk-1", " Bearer sk-1", "Bearer sk-\u{e9}", "Bearer sk-1\u{a0}", "Bearer \u{a0}sk-1",
            "Béarer sk-1", "Bearer sk-1 x", "Bearer ~!@#$%^&*()", "Bearer \u{7f}", "Bearer x", "B\u{0}arer sk-1", "bearer\u{20}\u{20}",
            "Cearer sk-1", "Bfarer sk-1", "BEARER\u{20}sk-" + String(repeating: "a", count: 300),
        ]
        let alphabet = Array("Bb eEaArR\t\u{a0}sk-1é~\u{7f}")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            headers.append(String((0..<Int.random(in: 0...14, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
            headers.append("Bearer " + String((0..<Int.random(in: 0...6, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        for header in headers {
            #expect(TeamAuthenticator.bearerToken(header) == Self.generalBearerToken(header), "\(header.debugDescription)")
            if let token = TeamAuthenticator.plainBearerToken(header) {
                #expect(token == Self.generalBearerToken(header), "\(header.debugDescription)")
            }
        }
        #expect(TeamAuthenticator.plainBearerToken("Bearer sk-1") == "sk-1")
    }
}
