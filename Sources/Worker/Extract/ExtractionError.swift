import Shared

/// Why a document yielded no text. Each case has a sentence for the tenant (``message``) and a
/// class: the document's fault fails the job with `invalid_request` — running it again would
/// fail the same way —, the machine's (an extractor missing or unusable) is the operator's to fix
/// and the job may be tried again later.
enum ExtractionError: Error, Hashable, Sendable {
    /// The document needs a password (a PDF's security handler, an encrypted ZIP member).
    case encrypted(DocumentKind)
    /// The extractor could not read it: damaged, truncated, or not what its bytes claimed.
    /// `diagnostic` is the extractor's own words, for logs only.
    case unreadable(DocumentKind, diagnostic: String)
    /// The extractor ran past the timeout and was killed.
    case timedOut(Duration)
    /// The extractor ran out of the address space it was allowed (or the kernel killed it).
    case tooMuchMemory(limitBytes: Int)
    /// The text was longer than allowed; the extractor was stopped there.
    case textTooLarge(limitBytes: Int)
    /// More pages than a document may have.
    case tooManyPages(limit: Int)
    /// A DOCX or ODT whose central directory promises more than the limits allow.
    case zipBomb(DocumentKind, reason: String)
    /// Extraction worked and found nothing but white space (a scanned PDF without a text layer).
    case noText(DocumentKind)
    /// The extractor binary is not installed where the settings say.
    case extractorMissing(String)
    /// The extractor could not be started, or its workspace not made (the machine's trouble).
    case extractorUnusable(String)
    /// The caller's task was cancelled (the job was cancelled, the worker is stopping); the child
    /// was killed.
    case cancelled

    /// Whether the document is to blame: the job fails as `invalid_request` with ``message``.
    /// Otherwise the machine is, and the job should not be failed for the tenant's document.
    var isDocumentFault: Bool {
        switch self {
        case .extractorMissing, .extractorUnusable, .cancelled: false
        default: true
        }
    }

    /// What the tenant reads in the failed job's error.
    var message: String {
        switch self {
        case .encrypted(let kind):
            "The \(kind.displayName) is encrypted; upload it without a password."
        case .unreadable(let kind, _):
            "The \(kind.displayName) could not be read: it is damaged, truncated or not a valid \(kind.displayName)."
        case .timedOut(let limit):
            "Extracting the document's text took longer than \(Self.seconds(limit)) seconds."
        case .tooMuchMemory(let limit):
            "Extracting the document's text needed more than \(limit >> 20) MiB of memory."
        case .textTooLarge(let limit):
            "The document's text is larger than \(Self.size(limit)), the most a document may hold."
        case .tooManyPages(let limit):
            "The document has more than \(limit) pages, the most a document may have."
        case .zipBomb(let kind, let reason):
            "The \(kind.displayName) was refused: \(reason)."
        case .noText(.pdf):
            "The PDF has no text to extract (a scanned PDF needs OCR before it is uploaded)."
        case .noText(let kind):
            "The \(kind.displayName) has no text to extract."
        case .extractorMissing, .extractorUnusable:
            "The document's text could not be extracted because of a problem on our side."
        case .cancelled:
            "The document's extraction was stopped."
        }
    }

    /// What the operator reads in the worker's log.
    var diagnostic: String {
        switch self {
        case .unreadable(_, let diagnostic): "\(message) Extractor said: \(diagnostic)"
        case .extractorMissing(let path): "extractor not found or not executable: \(path)"
        case .extractorUnusable(let reason): "extractor could not run: \(reason)"
        default: message
        }
    }

    private static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return attoseconds == 0 ? "\(seconds)" : "\(Double(seconds) + Double(attoseconds) / 1e18)"
    }

    private static func size(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}

extension DocumentKind {
    /// The kind's name in a sentence.
    var displayName: String {
        switch self {
        case .pdf: "PDF"
        case .docx: "DOCX document"
        case .odt: "ODT document"
        case .html: "HTML document"
        case .markdown: "Markdown document"
        case .text: "text document"
        }
    }
}
