import Shared
import SystemPackage

/// Reads a ZIP container's central directory — and nothing it would have to decompress — to
/// refuse honest zip bombs before pandoc sees them: too many members, a declared uncompressed
/// total past the limit, a member that expands absurdly, or an archive it cannot parse (ZIP64,
/// split archives, a directory that does not add up). Reads are bounded: the end record's search
/// window (64 KiB plus the record) and the directory itself (``ZipLimits/maxCentralDirectoryBytes``).
/// An archive whose headers lie passes; the extractor's memory limit, output cap and timeout are
/// the backstop for those.
struct ZipInspector: Sendable {
    /// What the central directory declares.
    struct Summary: Sendable, Hashable {
        var entries: Int
        var compressedBytes: Int
        var uncompressedBytes: Int
    }

    let limits: ZipLimits

    func inspect(_ file: FilePath, kind: DocumentKind) throws(ExtractionError) -> Summary {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(file, .readOnly, options: [.closeOnExec])
        } catch {
            throw .extractorUnusable("cannot open \(file): \(error)")
        }
        defer { try? descriptor.close() }
        do {
            return try summary(of: descriptor, kind: kind)
        } catch let error as ExtractionError {
            throw error
        } catch {
            throw .unreadable(kind, diagnostic: "reading the ZIP directory: \(error)")
        }
    }

    private func summary(of descriptor: FileDescriptor, kind: DocumentKind) throws -> Summary {
        func damaged(_ reason: String) -> ExtractionError { .unreadable(kind, diagnostic: "ZIP: \(reason)") }
        func bomb(_ reason: String) -> ExtractionError { .zipBomb(kind, reason: reason) }

        let size = Int(try descriptor.seek(offset: 0, from: .end))
        let endRecordSize = 22
        guard size >= endRecordSize else { throw damaged("shorter than an end-of-central-directory record") }
        // The end record is last, after a comment of at most 65,535 bytes.
        let windowStart = max(0, size - endRecordSize - 0xFFFF)
        let window = try read(descriptor, at: windowStart, count: size - windowStart)
        var found: Int?
        var candidate = window.count - endRecordSize
        while candidate >= 0 {
            if window.le32(at: candidate) == 0x0605_4B50, candidate + endRecordSize + Int(window.le16(at: candidate + 20)) <= window.count {
                found = candidate
                break
            }
            candidate -= 1
        }
        guard let end = found else { throw damaged("no end-of-central-directory record") }
        let disk = window.le16(at: end + 4)
        let directoryDisk = window.le16(at: end + 6)
        let entriesHere = Int(window.le16(at: end + 8))
        let entries = Int(window.le16(at: end + 10))
        let directorySize = Int(window.le32(at: end + 12))
        let directoryOffset = Int(window.le32(at: end + 16))
        guard disk == 0, directoryDisk == 0, entriesHere == entries else { throw damaged("split across several disks") }
        guard entries != 0xFFFF, directorySize != 0xFFFF_FFFF, directoryOffset != 0xFFFF_FFFF else {
            throw damaged("ZIP64 archives are not supported")
        }
        guard entries <= limits.maxEntries else { throw bomb("it holds \(entries) files, more than the \(limits.maxEntries) allowed") }
        guard directorySize <= limits.maxCentralDirectoryBytes else {
            throw bomb("its file list takes \(directorySize) bytes, more than the \(limits.maxCentralDirectoryBytes) allowed")
        }
        guard directoryOffset + directorySize <= windowStart + end else { throw damaged("the central directory lies outside the file") }

        let directory = try read(descriptor, at: directoryOffset, count: directorySize)
        var position = 0
        var compressed = 0
        var uncompressed = 0
        for _ in 0..<entries {
            guard position + 46 <= directory.count, directory.le32(at: position) == 0x0201_4B50 else {
                throw damaged("a central directory entry is missing or malformed")
            }
            let flags = directory.le16(at: position + 8)
            let entryCompressed = Int(directory.le32(at: position + 20))
            let entryUncompressed = Int(directory.le32(at: position + 24))
            let nameLength = Int(directory.le16(at: position + 28))
            let extraLength = Int(directory.le16(at: position + 30))
            let commentLength = Int(directory.le16(at: position + 32))
            guard entryCompressed != 0xFFFF_FFFF, entryUncompressed != 0xFFFF_FFFF else { throw damaged("ZIP64 members are not supported") }
            if flags & 1 == 1 { throw ExtractionError.encrypted(kind) }
            compressed += entryCompressed
            uncompressed += entryUncompressed
            guard uncompressed <= limits.maxUncompressedBytes else {
                throw bomb("it expands to more than the \(limits.maxUncompressedBytes >> 20) MiB allowed")
            }
            if entryUncompressed > limits.ratioFloorBytes, entryUncompressed > limits.maxRatio * max(entryCompressed, 1) {
                throw bomb("a file inside it expands \(entryUncompressed / max(entryCompressed, 1)) times, more than the \(limits.maxRatio) allowed")
            }
            position += 46 + nameLength + extraLength + commentLength
        }
        guard position <= directory.count else { throw damaged("the central directory is shorter than its entries") }
        return Summary(entries: entries, compressedBytes: compressed, uncompressedBytes: uncompressed)
    }

    private func read(_ descriptor: FileDescriptor, at offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = try bytes.withUnsafeMutableBytes { buffer in
                try descriptor.read(fromAbsoluteOffset: Int64(offset + done), into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            }
            guard got > 0 else { break }
            done += got
        }
        guard done == count else { throw ExtractionError.extractorUnusable("short read of the archive") }
        return bytes
    }
}

extension [UInt8] {
    fileprivate func le16(at index: Int) -> UInt16 { UInt16(self[index]) | UInt16(self[index + 1]) << 8 }
    fileprivate func le32(at index: Int) -> UInt32 {
        UInt32(self[index]) | UInt32(self[index + 1]) << 8 | UInt32(self[index + 2]) << 16 | UInt32(self[index + 3]) << 24
    }
}
