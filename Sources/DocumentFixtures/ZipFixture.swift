/// A ZIP writer small enough to read: stored entries (or a deflate payload the caller made), no
/// ZIP64, no data descriptors. Enough for DOCX and ODT fixtures and for archives whose headers lie.
public enum ZipFixture {
    /// One member of an archive.
    public struct Entry: Sendable {
        public var name: String
        /// 0: stored, 8: deflated.
        public var method: UInt16
        /// The bytes as they sit in the archive (compressed when `method` is 8).
        public var payload: [UInt8]
        public var crc32: UInt32
        /// What the local and central headers declare; a fixture may make them lie.
        public var declaredUncompressedSize: UInt32

        /// An entry kept as it is, its checksum computed.
        public static func stored(_ name: String, _ bytes: [UInt8]) -> Entry {
            Entry(name: name, method: 0, payload: bytes, crc32: CRC32.checksum(bytes), declaredUncompressedSize: UInt32(bytes.count))
        }

        /// An entry whose bytes the caller deflated; `crc32` and `uncompressedSize` are the caller's
        /// word (a bomb declares whatever it wants).
        public static func deflated(_ name: String, compressed: [UInt8], crc32: UInt32, uncompressedSize: UInt32) -> Entry {
            Entry(name: name, method: 8, payload: compressed, crc32: crc32, declaredUncompressedSize: uncompressedSize)
        }

        /// An entry holding UTF-8 text, stored.
        public static func stored(_ name: String, text: String) -> Entry { stored(name, Array(text.utf8)) }
    }

    /// The archive: local headers and data in order, then the central directory and its end record.
    public static func make(_ entries: [Entry]) -> [UInt8] {
        var archive: [UInt8] = []
        var central: [UInt8] = []
        for entry in entries {
            let offset = UInt32(archive.count)
            let name = Array(entry.name.utf8)
            archive.append(le32: 0x0403_4B50)
            archive.appendCommonHeader(entry, nameLength: name.count)
            archive.append(le16: 0)  // extra field length
            archive += name
            archive += entry.payload

            central.append(le32: 0x0201_4B50)
            central.append(le16: 20)  // version made by
            central.appendCommonHeader(entry, nameLength: name.count)
            central.append(le16: 0)  // extra field length
            central.append(le16: 0)  // comment length
            central.append(le16: 0)  // disk number
            central.append(le16: 0)  // internal attributes
            central.append(le32: 0)  // external attributes
            central.append(le32: offset)
            central += name
        }
        let centralOffset = UInt32(archive.count)
        archive += central
        archive.append(le32: 0x0605_4B50)
        archive.append(le16: 0)  // this disk
        archive.append(le16: 0)  // disk of the central directory
        archive.append(le16: UInt16(entries.count))
        archive.append(le16: UInt16(entries.count))
        archive.append(le32: UInt32(central.count))
        archive.append(le32: centralOffset)
        archive.append(le16: 0)  // comment length
        return archive
    }
}

extension [UInt8] {
    mutating func append(le16 value: UInt16) {
        append(UInt8(value & 0xFF))
        append(UInt8(value >> 8))
    }

    mutating func append(le32 value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    /// The fields local and central headers share, from "version needed" to "extra length" excluded.
    fileprivate mutating func appendCommonHeader(_ entry: ZipFixture.Entry, nameLength: Int) {
        append(le16: 20)  // version needed to extract
        append(le16: 0)  // flags
        append(le16: entry.method)
        append(le16: 0)  // modification time
        append(le16: 0x21)  // modification date: 1980-01-01
        append(le32: entry.crc32)
        append(le32: UInt32(entry.payload.count))
        append(le32: entry.declaredUncompressedSize)
        append(le16: UInt16(nameLength))
    }
}
