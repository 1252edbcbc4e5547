/// The kinds of uploaded document the service takes. The API decides the kind from the bytes
/// (magic numbers, never the file name), the worker extracts text by kind.
public enum DocumentKind: String, Sendable, Hashable, Codable, CaseIterable {
    case pdf, docx, odt, html, markdown, text

    /// The MIME type, for answers and the OpenAPI document.
    public var mediaType: String {
        switch self {
        case .pdf: "application/pdf"
        case .docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        case .odt: "application/vnd.oasis.opendocument.text"
        case .html: "text/html"
        case .markdown: "text/markdown"
        case .text: "text/plain"
        }
    }

    /// Whether the kind has pages of its own (PDF). The others are one page, unless their text
    /// carries form feeds.
    public var isPaginated: Bool { self == .pdf }
}
