/// A raw deflate stream (RFC 1951, one fixed-Huffman block) that expands to a prefix, a long run of
/// one byte and a suffix: the run is one literal, then back-references of length 258 at distance 1,
/// 13 bits each — about 160:1, the most fixed Huffman codes allow. Eight references are exactly 13
/// bytes, so once the bit stream is byte-aligned the body is one 13-byte pattern repeated: a
/// gigabyte's bomb is written in milliseconds.
public enum DeflateBomb {
    /// The compressed stream and the checksum of what it expands to.
    public struct Stream: Sendable {
        public var compressed: [UInt8]
        public var crc32: UInt32
        public var uncompressedSize: Int
    }

    /// - Parameters:
    ///   - prefix, suffix: bytes before and after the run (ASCII keeps them one byte a code).
    ///   - fill: the repeated byte.
    ///   - runLength: how many times `fill` appears (at least 1).
    public static func make(prefix: [UInt8], fill: UInt8, runLength: Int, suffix: [UInt8]) -> Stream {
        precondition(runLength >= 1)
        var writer = BitWriter()
        writer.write(1, bits: 1)  // BFINAL
        writer.write(1, bits: 2)  // BTYPE = 01, fixed Huffman
        for byte in prefix { writer.literal(byte) }
        writer.literal(fill)
        var references = (runLength - 1) / 258
        let leftover = (runLength - 1) % 258
        while references > 0, !writer.isAligned {
            writer.backReference()
            references -= 1
        }
        if references >= 8 {
            var pattern = BitWriter()
            for _ in 0..<8 { pattern.backReference() }
            let block = pattern.bytes  // exactly 13 bytes: 8 × 13 bits
            let repeats = references / 8
            writer.bytes.reserveCapacity(writer.bytes.count + repeats * block.count + 64)
            for _ in 0..<repeats { writer.bytes += block }
            references %= 8
        }
        for _ in 0..<references { writer.backReference() }
        for _ in 0..<leftover { writer.literal(fill) }
        for byte in suffix { writer.literal(byte) }
        writer.write(0, bits: 7)  // end of block: code 256, seven zero bits
        writer.flush()

        var crc = CRC32.checksum(prefix)
        crc = CRC32.combine(crc, CRC32.checksum(repeating: fill, count: runLength), secondLength: runLength)
        crc = CRC32.combine(crc, CRC32.checksum(suffix), secondLength: suffix.count)
        return Stream(compressed: writer.bytes, crc32: crc, uncompressedSize: prefix.count + runLength + suffix.count)
    }
}

/// Deflate's bit order: fields least significant bit first, Huffman codes most significant first.
private struct BitWriter {
    var bytes: [UInt8] = []
    private var pending: UInt32 = 0
    private var pendingBits = 0

    var isAligned: Bool { pendingBits == 0 }

    mutating func write(_ value: UInt32, bits: Int) {
        pending |= value << UInt32(pendingBits)
        pendingBits += bits
        while pendingBits >= 8 {
            bytes.append(UInt8(pending & 0xFF))
            pending >>= 8
            pendingBits -= 8
        }
    }

    /// A Huffman code, reversed so that its first bit goes out first.
    mutating func code(_ value: UInt32, bits: Int) {
        var reversed: UInt32 = 0
        for index in 0..<bits where value & (1 << UInt32(index)) != 0 { reversed |= 1 << UInt32(bits - 1 - index) }
        write(reversed, bits: bits)
    }

    /// A literal byte in the fixed code: 0–143 are 8 bits from 0x30, 144–255 are 9 bits from 0x190.
    mutating func literal(_ byte: UInt8) {
        if byte < 144 { code(0x30 + UInt32(byte), bits: 8) } else { code(0x190 + UInt32(byte) - 144, bits: 9) }
    }

    /// Length 258 (code 285: 8 bits, no extra) at distance 1 (distance code 0: 5 bits, no extra).
    mutating func backReference() {
        code(0xC0 + 5, bits: 8)
        code(0, bits: 5)
    }

    mutating func flush() {
        if pendingBits > 0 { write(0, bits: 8 - pendingBits) }
    }
}
