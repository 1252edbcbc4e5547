import DocumentFixtures
import Foundation
import Testing
import UUIDText

@testable import Shared

/// ``UUIDText`` must write and read what Foundation writes and reads: ids are compared, stored and
/// looked up by their text, and one read differently would be another job.
@Suite("UUIDText: Foundation's UUID text, written and read directly")
struct UUIDTextTests {
    @Test("10,000 ids: written as Foundation's lowercased text, read back in either case")
    func roundTrips() {
        for _ in 0..<10_000 {
            let id = UUID.random()
            let text = UUIDText.lowercased(id)
            #expect(text == id.uuidString.lowercased())
            #expect(UUIDText.parse(text) == id)
            #expect(UUIDText.parse(id.uuidString) == id)
        }
    }

    /// `UUID(uuidString:)` runs `sscanf("%2hhx…")`, which skips blanks and takes one hex digit
    /// where two are missing, so it reads some texts that are not an id as another id (`…-DDD8- F9C-…`
    /// as `…-DDD8-F90C-…`). The parser reads exactly the texts of the pattern, each as Foundation does.
    @Test("the 36 characters of an id are read as Foundation reads them, anything else refused")
    func malformedTexts() {
        let id = UUID.random().uuidString
        var texts = [
            "", "-", id + "0", String(id.dropLast()), " " + id, id + " ", id.replacingOccurrences(of: "-", with: ""),
            String(id.prefix(8)) + "_" + String(id.dropFirst(9)), "{" + id + "}", "urn:uuid:" + id,
            "00000000-0000-0000-0000-00000000000g", "0000000-00000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000",
            "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "ffffffff-ffff-ffff-ffff-ffffffffffff", "é0000000-0000-0000-0000-00000000000",
        ]
        // Every single-character change of a valid id.
        var random = SplitMix64(seed: 0x5555_4944)
        let alphabet = Array("0123456789abcdefABCDEFgG-_ xé")
        for _ in 0..<5_000 {
            var characters = Array(id)
            characters[random.next(in: 0...35)] = alphabet[random.next(in: 0...(alphabet.count - 1))]
            texts.append(String(characters))
        }
        let pattern = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/
        var refused = 0
        for text in texts {
            let wellFormed = text.wholeMatch(of: pattern) != nil
            if !wellFormed { refused += 1 }
            #expect(UUIDText.parse(text) == (wellFormed ? UUID(uuidString: text) : nil), "\(text.debugDescription)")
        }
        #expect(refused > 1_000)
    }
}
