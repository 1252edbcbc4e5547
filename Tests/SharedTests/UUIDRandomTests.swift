import Foundation
import Testing

@testable import Shared

@Suite("UUID.random: version 4 ids without opening /dev/urandom")
struct UUIDRandomTests {
    @Test("every id is version 4, RFC 9562 variant, and they do not repeat")
    func versionVariantAndUniqueness() {
        var seen = Set<UUID>()
        for _ in 0..<10_000 {
            let id = UUID.random()
            let text = id.uuidString.lowercased()
            let characters = Array(text)
            #expect(characters[14] == "4", "version nibble of \(text)")
            #expect("89ab".contains(characters[19]), "variant nibble of \(text)")
            #expect(UUID(uuidString: text) == id)
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
    }
}
