import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A streaming reader of a `multipart/form-data` body (RFC 7578 over RFC 2046). Fed the body's
/// reads as they come, it hands back one event at a time — a part's header fields, slices of its
/// body (views of the read, not copies), its end, the close delimiter — so that its caller can
/// await between events; it holds only a header block (at most ``maxHeaderBytes``) or the few
/// bytes of a delimiter cut by the end of a read. Every byte is accounted for: a preamble past
/// ``maxPreambleBytes`` or a header block past its limit is refused, never buffered.
///
/// Written here rather than taken from MultipartKit 4.7.1, whose `MultipartParser` traps on a
/// byte ≥ 0x80 in a part's header name (a 128-entry table indexed by any byte), grows header
/// lines without bound (copying them on each read), and cannot tell a body that was closed from
/// one cut off between parts.
struct MultipartScanner {
    enum Event: Equatable, Sendable {
        /// A part begins: its header fields in order.
        case part([HeaderField])
        /// The next bytes of the current part's body.
        case body(ByteBuffer)
        /// The current part's body ended (a delimiter was read).
        case partEnd
        /// The close delimiter: what follows is the epilogue, which is ignored.
        case close
    }

    struct HeaderField: Equatable, Sendable {
        /// Lower-cased (header names are case-insensitive).
        var name: String
        /// Without surrounding white space; UTF-8 with anything invalid replaced (U+FFFD).
        var value: String
    }

    static let maxHeaderBytes = 16 << 10
    static let maxPreambleBytes = 16 << 10
    /// White space allowed between a boundary and its line end (RFC 2046's transport padding).
    static let maxPaddingBytes = 64

    private enum State {
        case preamble, body, afterDelimiter, headers, epilogue
    }

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")
    private static let dash = UInt8(ascii: "-")

    /// CRLF, `--`, the boundary: the only CR in it is its first byte (a boundary is printable).
    private let delimiter: [UInt8]
    private var state = State.preamble
    /// Bytes kept between reads: a delimiter's start that ended a read (preamble, body), the
    /// line after a delimiter, or the header block so far.
    private var held: [UInt8]
    private var preambleBytes = 0

    /// `boundary`: 1–70 printable ASCII characters (``UploadReader/boundary(of:)`` checks).
    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        // As if the body began with a line end, so that a first delimiter without one matches.
        held = [Self.cr, Self.lf]
    }

    /// The next event from `input`, nil once it is used up (feed the next read then).
    mutating func next(_ input: inout ByteBuffer) throws(APIError) -> Event? {
        while true {
            switch state {
            case .preamble:
                switch scan(&input) {
                case .content(let bytes):
                    preambleBytes += bytes.readableBytes
                    guard preambleBytes <= Self.maxPreambleBytes else { throw .multipartMalformed }
                case .delimiter: state = .afterDelimiter
                case .needMore: return nil
                }
            case .body:
                switch scan(&input) {
                case .content(let bytes): return .body(bytes)
                case .delimiter:
                    state = .afterDelimiter
                    return .partEnd
                case .needMore: return nil
                }
            case .afterDelimiter:
                guard let closed = try readDelimiterLineEnd(&input) else { return nil }
                if closed {
                    state = .epilogue
                    return .close
                }
                state = .headers
            case .headers:
                guard let fields = try readHeaderBlock(&input) else { return nil }
                state = .body
                return .part(fields)
            case .epilogue:
                input.moveReaderIndex(to: input.writerIndex)
                return nil
            }
        }
    }

    /// At the end of the body: nothing is missing only after the close delimiter.
    func finish() throws(APIError) {
        switch state {
        case .epilogue: return
        case .preamble: throw .multipartMalformed
        case .body, .afterDelimiter, .headers: throw .multipartTruncated
        }
    }

    // MARK: - Content and delimiters

    private enum Scan {
        case content(ByteBuffer)
        case delimiter
        case needMore
    }

    /// Content up to the next delimiter, the delimiter, or a wait for the next read.
    private mutating func scan(_ input: inout ByteBuffer) -> Scan {
        if !held.isEmpty {
            // The start of a delimiter ended an earlier read: does this one finish it?
            let wanted = delimiter.count - held.count
            let available = min(wanted, input.readableBytes)
            if input.readableBytesView.prefix(available).elementsEqual(delimiter[held.count..<(held.count + available)]) {
                held += input.readBytes(length: available) ?? []
                guard held.count == delimiter.count else { return .needMore }
                held = []
                return .delimiter
            }
            // Content after all; no delimiter starts inside it, as only its first byte is a CR.
            defer { held = [] }
            return .content(ByteBuffer(bytes: held))
        }
        guard input.readableBytes > 0 else { return .needMore }
        var from = 0
        while let cr = Self.firstCR(in: input, from: from) {
            let available = min(delimiter.count, input.readableBytes - cr)
            let candidate = input.readableBytesView.dropFirst(cr).prefix(available)
            guard candidate.elementsEqual(delimiter.prefix(available)) else {
                from = cr + 1
                continue
            }
            if cr > 0 { return .content(input.readSlice(length: cr)!) }  // the delimiter on the next call
            if available == delimiter.count {
                input.moveReaderIndex(forwardBy: available)
                return .delimiter
            }
            held = input.readBytes(length: available) ?? []
            return .needMore
        }
        return .content(input.readSlice(length: input.readableBytes)!)
    }

    /// The offset of the first CR at or after `from` in the readable bytes.
    private static func firstCR(in input: ByteBuffer, from: Int) -> Int? {
        input.withUnsafeReadableBytes { raw in
            guard from < raw.count, let base = raw.baseAddress else { return nil }
            return memchr(base + from, Int32(cr), raw.count - from).map { UnsafeRawPointer($0) - base }
        }
    }

    /// After a delimiter: `--` closes the body; else transport padding, then CRLF before the
    /// next part's headers. True when closed, false for a part, nil to wait for more.
    private mutating func readDelimiterLineEnd(_ input: inout ByteBuffer) throws(APIError) -> Bool? {
        while let byte = input.readInteger(as: UInt8.self) {
            held.append(byte)
            if held[0] == Self.dash {
                guard held.count == 2 else { continue }
                guard byte == Self.dash else { throw .multipartMalformed }
                held = []
                return true
            }
            switch byte {
            case Self.lf:
                guard held.count >= 2, held[held.count - 2] == Self.cr else { throw .multipartMalformed }
                held = []
                return false
            case Self.cr, UInt8(ascii: " "), UInt8(ascii: "\t"):
                // Padding, then one CR: nothing after the CR but its LF.
                guard !held.dropLast().contains(Self.cr), held.count <= Self.maxPaddingBytes else { throw .multipartMalformed }
            default: throw .multipartMalformed
            }
        }
        return nil
    }

    // MARK: - Headers

    /// The header block up to its empty line, parsed; nil to wait for more.
    private mutating func readHeaderBlock(_ input: inout ByteBuffer) throws(APIError) -> [HeaderField]? {
        while let byte = input.readInteger(as: UInt8.self) {
            held.append(byte)
            guard held.count <= Self.maxHeaderBytes else {
                throw .multipartHeadersTooLarge(limit: Self.maxHeaderBytes)
            }
            guard byte == Self.lf else { continue }
            if held.count == 2 && held[0] == Self.cr || held.suffix(4).elementsEqual([Self.cr, Self.lf, Self.cr, Self.lf]) {
                defer { held = [] }
                return try Self.fields(held.dropLast(2))
            }
        }
        return nil
    }

    /// `name: value` lines; a line starting with white space continues the one before
    /// (obsolete folding). A name must be a token (RFC 9110): ASCII, no separators.
    private static func fields(_ block: ArraySlice<UInt8>) throws(APIError) -> [HeaderField] {
        var fields: [HeaderField] = []
        var lineStart = block.startIndex
        while lineStart < block.endIndex {
            var lineEnd = lineStart
            while lineEnd < block.endIndex && !block[lineEnd...].starts(with: [cr, lf]) { lineEnd += 1 }
            let line = block[lineStart..<lineEnd]
            lineStart = min(lineEnd + 2, block.endIndex)
            if let first = line.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
                guard !fields.isEmpty else { throw .multipartMalformed }
                fields[fields.count - 1].value += " " + text(line)
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                line[..<colon].allSatisfy(isTokenCharacter)
            else { throw .multipartMalformed }
            fields.append(HeaderField(name: text(line[..<colon]).lowercased(), value: text(line[(colon + 1)...])))
        }
        return fields
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String {
        let isSpace: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        let trimmed = bytes.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        return String(decoding: trimmed, as: UTF8.self)
    }

    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
