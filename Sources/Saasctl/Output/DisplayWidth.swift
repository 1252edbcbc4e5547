/// How many terminal columns text takes, by grapheme cluster: a combining mark adds nothing to
/// its base, East Asian wide and fullwidth characters and emoji take two, zero-width characters
/// none. Close to what terminals do (wcwidth), without a platform locale.
enum DisplayWidth {
    /// The columns of one grapheme cluster.
    static func of(_ character: Character) -> Int {
        let scalars = character.unicodeScalars
        guard let first = scalars.first else { return 0 }
        let properties = first.properties
        switch properties.generalCategory {
        case .control, .format, .nonspacingMark, .enclosingMark, .lineSeparator, .paragraphSeparator:
            // A cluster that opens with a mark or a zero-width character (a stray combining
            // mark at the start of a cell) takes no column of its own.
            return 0
        default:
            break
        }
        if isWide(first.value) || properties.isEmojiPresentation { return 2 }
        // Text-style emoji turned into an emoji by VS16 (U+FE0F) take two, as terminals draw them.
        if scalars.count > 1, scalars.contains(where: { $0.value == 0xFE0F }), properties.isEmoji { return 2 }
        return 1
    }

    /// The columns of a string.
    static func of(_ text: some StringProtocol) -> Int {
        text.reduce(0) { $0 + of($1) }
    }

    /// At most `width` columns of `text`: cut between grapheme clusters and ended with `…` when
    /// anything was cut (a wide character that would straddle the edge goes too).
    static func truncate(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        guard of(text) > width else { return text }
        var kept = ""
        var used = 0
        for character in text {
            let columns = of(character)
            if used + columns > width - 1 { break }
            kept.append(character)
            used += columns
        }
        return kept + "…"
    }

    /// `text` padded with spaces to `width` columns, on the right (left-aligned) or the left.
    static func pad(_ text: String, to width: Int, rightAligned: Bool = false) -> String {
        let missing = max(0, width - of(text))
        let padding = String(repeating: " ", count: missing)
        return rightAligned ? padding + text : text + padding
    }

    /// East Asian Wide (W) and Fullwidth (F) ranges of Unicode 15, merged where adjacent.
    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0...0x23F0, 0x23F3...0x23F3,
        0x25FD...0x25FE, 0x2614...0x2615, 0x2648...0x2653, 0x267F...0x267F, 0x2693...0x2693, 0x26A1...0x26A1,
        0x26AA...0x26AB, 0x26BD...0x26BE, 0x26C4...0x26C5, 0x26CE...0x26CE, 0x26D4...0x26D4, 0x26EA...0x26EA,
        0x26F2...0x26F3, 0x26F5...0x26F5, 0x26FA...0x26FA, 0x26FD...0x26FD, 0x2705...0x2705, 0x270A...0x270B,
        0x2728...0x2728, 0x274C...0x274C, 0x274E...0x274E, 0x2753...0x2755, 0x2757...0x2757, 0x2795...0x2797,
        0x27B0...0x27B0, 0x27BF...0x27BF, 0x2B1B...0x2B1C, 0x2B50...0x2B50, 0x2B55...0x2B55, 0x2E80...0x303E,
        0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
        0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4,
        0x17000...0x18CFF, 0x1B000...0x1B2FF, 0x1F004...0x1F004, 0x1F0CF...0x1F0CF, 0x1F18E...0x1F18E,
        0x1F191...0x1F19A, 0x1F200...0x1F251, 0x1F300...0x1F64F, 0x1F680...0x1F6FF, 0x1F7E0...0x1F7EB,
        0x1F90C...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]

    static func isWide(_ value: UInt32) -> Bool {
        guard value >= 0x1100 else { return false }
        var low = 0
        var high = wideRanges.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let range = wideRanges[middle]
            if value < range.lowerBound {
                high = middle - 1
            } else if value > range.upperBound {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }
}

/// Text from the API made safe for a terminal: line breaks and tabs become spaces, other control
/// characters and bidirectional overrides (which could rewrite what the line appears to say)
/// become U+FFFD, and the result fits `maxWidth` columns.
enum Sanitized {
    static func text(_ raw: some StringProtocol, maxWidth: Int = .max) -> String {
        var clean = ""
        for character in raw {
            guard let first = character.unicodeScalars.first else { continue }
            if character.isNewline || first == "\t" {
                clean.append(" ")
            } else if first.properties.generalCategory == .control || isBidiControl(first.value) {
                clean.append("\u{FFFD}")
            } else {
                clean.append(character)
            }
        }
        return maxWidth == .max ? clean : DisplayWidth.truncate(clean, to: maxWidth)
    }

    /// Line-preserving: as ``text(_:maxWidth:)`` but keeping newlines (a `detail` printed on stderr).
    static func lines(_ raw: String) -> String {
        raw.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { text($0) }.joined(separator: "\n")
    }

    private static func isBidiControl(_ value: UInt32) -> Bool {
        (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value) || value == 0x200E || value == 0x200F
            || value == 0x061C
    }
}
