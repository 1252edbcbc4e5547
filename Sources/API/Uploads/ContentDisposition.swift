import Foundation

/// A part's `Content-Disposition: form-data; name="…"; filename="…"` (RFC 7578): the field it
/// fills and the name the client gave the file. The file name is only ever shown back, so it is
/// made safe to show and store rather than refused: its last path component, without control
/// or bidirectional-override characters, at most 255 UTF-8 bytes, nil when nothing is left.
struct ContentDisposition: Sendable, Equatable {
    static let maxFileNameBytes = 255

    var name: String?
    var fileName: String?

    init(_ header: String) {
        let parsed = HeaderParameters(header)
        name = parsed["name"]
        // RFC 5987's `filename*=UTF-8''…` (percent-encoded) wins over the plain one.
        let encoded = parsed["filename*"].flatMap(Self.decodeExtendedValue)
        fileName = (encoded ?? parsed["filename"]).flatMap { Self.sanitised($0, maxBytes: Self.maxFileNameBytes, lastComponent: true) }
    }

    /// `charset'language'percent-encoded`, UTF-8 only.
    private static func decodeExtendedValue(_ value: String) -> String? {
        let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3, pieces[0].lowercased() == "utf-8" else { return nil }
        return pieces[2].removingPercentEncoding
    }

    /// Text from a client made safe to show: no control characters (C0, DEL, C1) nor bidi
    /// overrides that could disguise it, trimmed, cut at a character boundary to `maxBytes`.
    static func sanitised(_ text: String, maxBytes: Int, lastComponent: Bool = false) -> String? {
        var text = Substring(text)
        if lastComponent, let separator = text.lastIndex(where: { $0 == "/" || $0 == "\\" }) {
            text = text[text.index(after: separator)...]
        }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where !isHidden(scalar) {
            scalars.append(scalar)
        }
        let cleaned = String(scalars).trimmingCharacters(in: .whitespaces)
        var result = ""
        var bytes = 0
        for character in cleaned {
            bytes += character.utf8.count
            guard bytes <= maxBytes else { break }
            result.append(character)
        }
        return result.isEmpty ? nil : result
    }

    private static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}
