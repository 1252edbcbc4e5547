public import Foundation

/// A UUID's text, written and read in one pass over its 36 bytes.
///
/// Written lowercase (`0f8e…-…`), the spelling of every id the API writes: `uuidString.lowercased()`
/// builds the uppercase string and then a second one, and this runs for every request id, every job
/// id answered and every id bound to a statement. Read in either case: `UUID(uuidString:)` runs
/// `sscanf` over the text (1.5 % of a worker's CPU in issue 13's profile, reading the ids of every
/// claim and of every row a claim marks).
public enum UUIDText {
    /// The UUID the text spells: 32 hex digits in either case, hyphens at 8, 13, 18 and 23 — what
    /// `UUID(uuidString:)` reads. Nil for anything else.
    public static func parse(_ text: some StringProtocol) -> UUID? {
        var text = String(text)
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    /// ``parse(_:)`` of the text's UTF-8 bytes.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> UUID? {
        guard bytes.count == 36, bytes[8] == hyphen, bytes[13] == hyphen, bytes[18] == hyphen, bytes[23] == hyphen else { return nil }
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let parsed = withUnsafeMutableBytes(of: &uuid) { out -> Bool in
            var position = 0
            for index in 0..<16 {
                if position == 8 || position == 13 || position == 18 || position == 23 { position += 1 }
                guard let high = nibble(bytes[position]), let low = nibble(bytes[position + 1]) else { return false }
                out[index] = high << 4 | low
                position += 2
            }
            return true
        }
        return parsed ? UUID(uuid: uuid) : nil
    }

    private static let hyphen = UInt8(ascii: "-")

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The 36 lowercase characters, hyphens at 8, 13, 18 and 23.
    public static func lowercased(_ uuid: UUID) -> String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            write(uuid, into: buffer)
            return 36
        }
    }

    /// Writes the 36 characters at the start of `buffer` (which holds at least 36 bytes).
    public static func write(_ uuid: UUID, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        let digits: StaticString = "0123456789abcdef"
        withUnsafeBytes(of: uuid.uuid) { bytes in
            digits.withUTF8Buffer { hex in
                var position = 0
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        buffer[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    buffer[position] = hex[Int(byte >> 4)]
                    buffer[position + 1] = hex[Int(byte & 0x0F)]
                    position += 2
                }
            }
        }
    }
}
