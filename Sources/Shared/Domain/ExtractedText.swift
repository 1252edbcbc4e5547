/// A document's text as extraction gave it: one string per page, first page first. Pages never
/// contain a form feed (U+000C): it is the separator when the text is stored as one string.
public struct ExtractedText: Sendable, Hashable {
    public static let pageSeparator: Character = "\u{0C}"

    public var pages: [String]

    public init(pages: [String]) {
        self.pages = pages.map { $0.filter { $0 != Self.pageSeparator } }
        if self.pages.isEmpty { self.pages = [""] }
    }

    /// Splits a stored or extracted string on form feeds (pdftotext ends every page with one; a
    /// final empty page after the last form feed is dropped).
    public init(joined text: String) {
        var pages = text.split(separator: Self.pageSeparator, omittingEmptySubsequences: false).map(String.init)
        if pages.count > 1, pages.last?.isEmpty == true { pages.removeLast() }
        self.init(pages: pages)
    }

    /// The pages joined by form feeds: how the text is stored.
    public var joined: String { pages.joined(separator: String(Self.pageSeparator)) }

    /// The text's UTF-8 size, separators included.
    public var byteCount: Int { pages.reduce(max(0, pages.count - 1)) { $0 + $1.utf8.count } }

    /// Whether any page holds more than white space.
    public var hasText: Bool { pages.contains { $0.contains { !$0.isWhitespace } } }
}
