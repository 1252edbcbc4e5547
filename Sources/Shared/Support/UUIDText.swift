public import Foundation

/// A UUID's lowercase text (`0f8e…-…`), the spelling of every id the API writes, written in one
/// pass into its own 36 bytes: `uuidString.lowercased()` builds the uppercase string and then a
/// second one, and this runs for every request id, every job id answered and every id bound to a
/// statement (``Foundation/UUID/lowercasedString``).
public enum UUIDText {
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
