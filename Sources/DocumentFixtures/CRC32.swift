/// CRC-32 (IEEE, as ZIP and PNG use it), with the combination that lets a zip bomb's checksum be
/// computed for a gigabyte of repeated bytes without touching a gigabyte.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// The checksum of `bytes`, continuing from `crc` (the checksum of what came before).
    public static func checksum(_ bytes: some Sequence<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        var value = ~crc
        for byte in bytes { value = table[Int((value ^ UInt32(byte)) & 0xFF)] ^ (value >> 8) }
        return ~value
    }

    /// The checksum of `count` copies of `byte`, by doubling: O(log count).
    public static func checksum(repeating byte: UInt8, count: Int) -> UInt32 {
        var result: UInt32 = 0
        var block = checksum([byte])
        var blockLength = 1
        var remaining = count
        while remaining > 0 {
            if remaining & 1 == 1 { result = combine(result, block, secondLength: blockLength) }
            remaining >>= 1
            if remaining > 0 {
                block = combine(block, block, secondLength: blockLength)
                blockLength *= 2
            }
        }
        return result
    }

    /// The checksum of A followed by B from A's and B's checksums and B's length (zlib's
    /// `crc32_combine`: B's length in zero bits applied to A's checksum as a GF(2) matrix).
    public static func combine(_ first: UInt32, _ second: UInt32, secondLength: Int) -> UInt32 {
        guard secondLength > 0 else { return first }
        func times(_ matrix: [UInt32], _ vector: UInt32) -> UInt32 {
            var sum: UInt32 = 0
            var vector = vector
            var row = 0
            while vector != 0 {
                if vector & 1 == 1 { sum ^= matrix[row] }
                vector >>= 1
                row += 1
            }
            return sum
        }
        func square(_ matrix: [UInt32]) -> [UInt32] { matrix.map { times(matrix, $0) } }

        var odd = [UInt32](repeating: 0, count: 32)
        odd[0] = 0xEDB8_8320  // one zero bit
        for row in 1..<32 { odd[row] = 1 << UInt32(row - 1) }
        var even = square(odd)  // two zero bits
        odd = square(even)  // four zero bits
        var crc = first
        var length = secondLength
        repeat {
            even = square(odd)
            if length & 1 == 1 { crc = times(even, crc) }
            length >>= 1
            if length == 0 { break }
            odd = square(even)
            if length & 1 == 1 { crc = times(odd, crc) }
            length >>= 1
        } while length != 0
        return crc ^ second
    }
}
