/// Decides an upload's ``DocumentKind`` from its bytes as they stream past — never from its
/// name — holding only a bounded head and tail, so that a 50 MiB upload costs the API a few
/// dozen KiB here. Feed it every byte in order with `consume(_:)` (chunked however the reads
/// come: the answer is the same), then ask ``kind()``; nil means the service does not take the
/// file (an image, an archive, a spreadsheet, an executable…).
///
/// - PDF: `%PDF-` within the first 1024 bytes (readers accept a little junk before it).
/// - ZIP: ODT when the first entry is a stored `mimetype` holding the ODF text type; DOCX when
///   the central directory (found from the end-of-central-directory record in the tail) or the
///   head's local headers name `word/document.xml`; any other zip (xlsx, pptx, epub, jar) is nil.
/// - Text kinds only when the whole file is UTF-8 (a BOM is fine) without NUL or C0 controls
///   other than tab, LF, CR and FF: HTML when it opens like HTML, Markdown when its head reads
///   like Markdown, else plain text.
/// - An empty file is nil (the API refuses it as empty before asking).
public struct DocumentSniffer: Sendable {
    /// The bytes kept from the start: magic numbers, a zip's first local headers, the lines the
    /// text heuristics read.
    public static let headSize = 8 * 1024
    /// The bytes kept from the end: a ZIP's end-of-central-directory record (22 bytes, after a
    /// comment of up to 64 KiB) and as much of the central directory as fits before it.
    public static let tailSize = 64 * 1024 + 22
    /// Where a PDF's header may start at the latest.
    static let pdfHeaderWindow = 1024

    private var head: [UInt8] = []
    /// The last bytes seen; up to twice ``tailSize`` between compactions (the last ``tailSize``
    /// count), so keeping it costs one copy per byte, not one per chunk.
    private var tail: [UInt8] = []
    /// How many bytes were consumed.
    public private(set) var byteCount = 0
    /// Still possibly text: valid UTF-8 so far, no NUL or binary control seen.
    private var textSoFar = true
    /// The UTF-8 sequence in progress across chunk boundaries: continuation bytes still due
    /// and the range the next one must be in (which rules out overlongs and surrogates).
    private var continuationsDue = 0
    private var nextLow: UInt8 = 0x80
    private var nextHigh: UInt8 = 0xBF

    public init() {}

    /// Feeds the next bytes of the file.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        if head.count < Self.headSize {
            head.append(contentsOf: bytes.prefix(Self.headSize - head.count))
        }
        if bytes.count >= Self.tailSize {
            tail = Array(bytes.suffix(Self.tailSize))
        } else {
            tail.append(contentsOf: bytes)
            if tail.count > 2 * Self.tailSize { tail.removeFirst(tail.count - Self.tailSize) }
        }
        if textSoFar { scanText(bytes) }
        byteCount += bytes.count
    }

    /// Feeds the next bytes of the file.
    public mutating func consume(_ bytes: some Collection<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ consume(UnsafeRawBufferPointer($0)) }) != nil { return }
        Array(bytes).withUnsafeBytes { consume($0) }
    }

    /// Whether no supported kind can come out of these bytes whatever follows, so that an upload
    /// can be refused while it streams instead of after it was stored: neither text, nor a zip,
    /// nor a PDF whose header may still come.
    public var isUnsupported: Bool {
        guard !textSoFar else { return false }
        let zipMagic = Self.zipLocalHeader
        let zipPossible = head.count < zipMagic.count ? zipMagic.starts(with: head) : head.starts(with: zipMagic)
        let pdfPossible = head.count < Self.pdfHeaderWindow || pdfHeaderOffset != nil
        return !zipPossible && !pdfPossible
    }

    /// The kind, once every byte was consumed; nil when the service does not take the file.
    public func kind() -> DocumentKind? {
        guard byteCount > 0 else { return nil }
        let isText = textSoFar && continuationsDue == 0
        if let offset = pdfHeaderOffset {
            // Junk before the header is tolerated for real PDFs, not for a text that mentions one.
            if offset == 0 || !isText || Self.find(Self.pdfEnd, in: keptTail[...]) != nil { return .pdf }
        }
        if head.starts(with: Self.zipLocalHeader) { return zipKind() }
        guard isText else { return nil }
        var text = head[...]
        if text.starts(with: Self.byteOrderMark) { text = text.dropFirst(Self.byteOrderMark.count) }
        if Self.looksLikeHTML(text) { return .html }
        if Self.looksLikeMarkdown(text) { return .markdown }
        return .text
    }

    // MARK: - Text

    private mutating func scanText(_ bytes: UnsafeRawBufferPointer) {
        var due = continuationsDue
        var low = nextLow
        var high = nextHigh
        defer {
            continuationsDue = due
            nextLow = low
            nextHigh = high
        }
        for byte in bytes {
            if due > 0 {
                guard byte >= low && byte <= high else {
                    textSoFar = false
                    return
                }
                due -= 1
                low = 0x80
                high = 0xBF
                continue
            }
            switch byte {
            case 0x20..<0x80, 0x09, 0x0A, 0x0C, 0x0D: continue
            case 0xC2...0xDF: due = 1
            case 0xE0: (due, low) = (2, 0xA0)
            case 0xE1...0xEC, 0xEE, 0xEF: due = 2
            case 0xED: (due, high) = (2, 0x9F)  // no surrogates
            case 0xF0: (due, low) = (3, 0x90)  // no overlongs
            case 0xF1...0xF3: due = 3
            case 0xF4: (due, high) = (3, 0x8F)  // nothing past U+10FFFF
            default:  // NUL, a binary control, a stray continuation, 0xC0, 0xC1, 0xF5…
                textSoFar = false
                return
            }
        }
    }

    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// `<!doctype html` or `<html` first (after white space), or a `<head`/`<body` tag early on.
    static func looksLikeHTML(_ text: ArraySlice<UInt8>) -> Bool {
        let start = text.drop { isWhiteSpace($0) }
        if startsCaseInsensitive(start, with: "<!doctype html") || isTag(start, "<html") { return true }
        let early = text.prefix(1024)
        for (index, byte) in zip(early.indices, early) where byte == UInt8(ascii: "<") {
            let rest = early[index...]
            if isTag(rest, "<head") || isTag(rest, "<body") || startsCaseInsensitive(rest, with: "<!doctype html") { return true }
        }
        return false
    }

    /// A tag opening: the name, then `>`, `/` or white space (so `<header` is not `<head`).
    private static func isTag(_ text: ArraySlice<UInt8>, _ name: String) -> Bool {
        guard startsCaseInsensitive(text, with: name) else { return false }
        guard let after = text.dropFirst(name.utf8.count).first else { return true }
        return after == UInt8(ascii: ">") || after == UInt8(ascii: "/") || isWhiteSpace(after)
    }

    /// Cheap line signs of Markdown over the head: a heading, fenced code, a link or a table's
    /// rule count two; a list item, a quote or a setext rule one; two make Markdown. A plain text
    /// read as Markdown loses nothing: both are extracted as text.
    static func looksLikeMarkdown(_ text: ArraySlice<UInt8>) -> Bool {
        var score = 0
        for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            score += markdownScore(line)
            if score >= 2 { return true }
        }
        return false
    }

    private static func markdownScore(_ fullLine: ArraySlice<UInt8>) -> Int {
        var line = fullLine
        while line.last == UInt8(ascii: "\r") || line.last == UInt8(ascii: " ") || line.last == UInt8(ascii: "\t") { line.removeLast() }
        let indent = line.prefix { $0 == UInt8(ascii: " ") }.count
        guard indent < 4 else { return 0 }  // indented code, or a continuation
        line = line.dropFirst(indent)
        guard let first = line.first else { return 0 }
        let isBlank: (UInt8?) -> Bool = { $0 == nil || $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        switch first {
        case UInt8(ascii: "#"):
            let hashes = line.prefix { $0 == UInt8(ascii: "#") }.count
            if hashes <= 6 && isBlank(line.dropFirst(hashes).first) { return 2 }
        case UInt8(ascii: "`"), UInt8(ascii: "~"):
            if line.prefix(3).allSatisfy({ $0 == first }) && line.count >= 3 { return 2 }
        case UInt8(ascii: "|"), UInt8(ascii: "-"), UInt8(ascii: ":"):
            let isRule = line.allSatisfy { "|-: \t".utf8.contains($0) }
            if isRule && line.contains(UInt8(ascii: "|")) && find(Array("---".utf8), in: line) != nil { return 2 }
        default: break
        }
        if let close = find(Array("](".utf8), in: line), line[..<close].contains(UInt8(ascii: "[")) { return 2 }
        switch first {
        case UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ">"):
            if isBlank(line.dropFirst().first) { return 1 }
            if first != UInt8(ascii: ">") && line.count >= 3 && line.allSatisfy({ $0 == first }) { return 1 }  // a rule
        case UInt8(ascii: "="):
            if line.count >= 3 && line.allSatisfy({ $0 == first }) { return 1 }
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            let digits = line.prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }.count
            let marker = line.dropFirst(digits).first
            if digits <= 9 && (marker == UInt8(ascii: ".") || marker == UInt8(ascii: ")")) && isBlank(line.dropFirst(digits + 1).first) {
                return 1
            }
        default: break
        }
        return 0
    }

    private static func isWhiteSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C
    }

    private static func startsCaseInsensitive(_ text: ArraySlice<UInt8>, with prefix: String) -> Bool {
        guard text.count >= prefix.utf8.count else { return false }
        return zip(text, prefix.utf8).allSatisfy { byte, expected in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 == expected : byte == expected
        }
    }

    // MARK: - PDF

    static let pdfHeader = Array("%PDF-".utf8)
    static let pdfEnd = Array("%%EOF".utf8)

    private var pdfHeaderOffset: Int? {
        Self.find(Self.pdfHeader, in: head.prefix(Self.pdfHeaderWindow)).map { $0 - head.startIndex }
    }

    // MARK: - ZIP

    static let zipLocalHeader: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
    static let zipCentralHeader: [UInt8] = [0x50, 0x4B, 0x01, 0x02]
    static let zipEndOfCentralDirectory: [UInt8] = [0x50, 0x4B, 0x05, 0x06]
    static let odtMediaType = Array("application/vnd.oasis.opendocument.text".utf8)
    static let docxMainPart = Array("word/document.xml".utf8)

    /// The last ``tailSize`` bytes.
    private var keptTail: ArraySlice<UInt8> { tail.suffix(Self.tailSize) }

    private func zipKind() -> DocumentKind? {
        if isODT() { return .odt }
        if centralDirectoryNames().contains(Self.docxMainPart[...]) || localHeaderNames().contains(Self.docxMainPart[...]) {
            return .docx
        }
        return nil
    }

    /// ODF's rule: the first entry is `mimetype`, stored uncompressed, holding the media type.
    private func isODT() -> Bool {
        let bytes = head[...]
        guard let nameLength = Self.uint16(bytes, 26), let extraLength = Self.uint16(bytes, 28),
            let flags = Self.uint16(bytes, 6), let method = Self.uint16(bytes, 8), let size = Self.uint32(bytes, 18),
            method == 0, bytes.dropFirst(30).prefix(nameLength).elementsEqual("mimetype".utf8)
        else { return false }
        let data = bytes.dropFirst(30 + nameLength + extraLength)
        guard data.starts(with: Self.odtMediaType) else { return false }
        if size == Self.odtMediaType.count { return true }
        // Sizes in a data descriptor after the data: the next signature must follow at once.
        return flags & 0x08 != 0 && size == 0 && data.dropFirst(Self.odtMediaType.count).starts(with: [0x50, 0x4B])
    }

    /// The names in the central directory: read entry by entry from where the end record puts it
    /// when it lies in the tail, else every entry signature found in the tail (a directory
    /// longer than the tail, ZIP64, or no end record at all: a truncated upload).
    private func centralDirectoryNames() -> [ArraySlice<UInt8>] {
        let bytes = keptTail
        let end = Self.findLast(Self.zipEndOfCentralDirectory, in: bytes, atOrBefore: bytes.endIndex - 22) { index in
            guard let commentLength = Self.uint16(bytes, index - bytes.startIndex + 20) else { return false }
            return index + 22 + commentLength <= bytes.endIndex
        }
        var names: [ArraySlice<UInt8>] = []
        if let end, let size = Self.uint32(bytes, end - bytes.startIndex + 12), size != 0xFFFF_FFFF, end - size >= bytes.startIndex {
            var index = end - size
            while index < end, let name = Self.centralEntryName(bytes, at: index) {
                names.append(name.name)
                index = name.next
            }
            if index == end { return names }
        }
        names = []
        var index = bytes.startIndex
        let limit = end ?? bytes.endIndex
        while let found = Self.find(Self.zipCentralHeader, in: bytes[index..<limit]) {
            if let name = Self.centralEntryName(bytes, at: found) { names.append(name.name) }
            index = found + 1
        }
        return names
    }

    /// One central-directory entry's name and where the next entry starts.
    private static func centralEntryName(_ bytes: ArraySlice<UInt8>, at index: Int) -> (name: ArraySlice<UInt8>, next: Int)? {
        let offset = index - bytes.startIndex
        guard bytes[index...].starts(with: zipCentralHeader), let nameLength = uint16(bytes, offset + 28),
            let extraLength = uint16(bytes, offset + 30), let commentLength = uint16(bytes, offset + 32)
        else { return nil }
        let next = index + 46 + nameLength + extraLength + commentLength
        guard index + 46 + nameLength <= bytes.endIndex else { return nil }
        return (bytes[(index + 46)..<(index + 46 + nameLength)], next)
    }

    /// The names of the local headers that follow each other in the head (until one whose size
    /// is only given after its data).
    private func localHeaderNames() -> [ArraySlice<UInt8>] {
        let bytes = head[...]
        var names: [ArraySlice<UInt8>] = []
        var offset = 0
        while bytes.dropFirst(offset).starts(with: Self.zipLocalHeader), let flags = Self.uint16(bytes, offset + 6),
            let size = Self.uint32(bytes, offset + 18), let nameLength = Self.uint16(bytes, offset + 26),
            let extraLength = Self.uint16(bytes, offset + 28), offset + 30 + nameLength <= bytes.count
        {
            names.append(bytes[(offset + 30)..<(offset + 30 + nameLength)])
            guard flags & 0x08 == 0 else { break }
            offset += 30 + nameLength + extraLength + size
        }
        return names
    }

    // MARK: - Bytes

    /// A little-endian integer at `offset` from the slice's start, nil past its end.
    private static func uint16(_ bytes: ArraySlice<UInt8>, _ offset: Int) -> Int? {
        let index = bytes.startIndex + offset
        guard offset >= 0, index + 2 <= bytes.endIndex else { return nil }
        return Int(bytes[index]) | Int(bytes[index + 1]) << 8
    }

    private static func uint32(_ bytes: ArraySlice<UInt8>, _ offset: Int) -> Int? {
        guard let low = uint16(bytes, offset), let high = uint16(bytes, offset + 2) else { return nil }
        return low | high << 16
    }

    /// The index of the first occurrence of `pattern` in `bytes`.
    static func find(_ pattern: [UInt8], in bytes: ArraySlice<UInt8>) -> Int? {
        guard let first = pattern.first, bytes.count >= pattern.count else { return nil }
        var index = bytes.startIndex
        let last = bytes.endIndex - pattern.count
        while index <= last {
            guard let candidate = bytes[index...last].firstIndex(of: first) else { return nil }
            if bytes[candidate..<(candidate + pattern.count)].elementsEqual(pattern) { return candidate }
            index = candidate + 1
        }
        return nil
    }

    /// The index of the last occurrence of `pattern` starting at or before `latest` that `accept`s.
    private static func findLast(
        _ pattern: [UInt8],
        in bytes: ArraySlice<UInt8>,
        atOrBefore latest: Int,
        where accept: (Int) -> Bool
    ) -> Int? {
        var index = min(latest, bytes.endIndex - pattern.count)
        while index >= bytes.startIndex {
            if bytes[index..<(index + pattern.count)].elementsEqual(pattern) && accept(index) { return index }
            index -= 1
        }
        return nil
    }
}
