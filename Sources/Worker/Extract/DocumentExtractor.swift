import Shared
import SystemPackage

/// Turns a document on disk into its text, page by page. The worker writes the stored upload into
/// an ``ExtractionWorkspace`` and hands its file here; ``SubprocessExtractor`` is the one
/// implementation (pdftotext, pandoc), tests may give the job runner another.
protocol DocumentExtractor: Sendable {
    /// The document's text. Every refusal is an ``ExtractionError``: the document's fault (the
    /// job fails, `invalid_request`) or the machine's (``ExtractionError/isDocumentFault`` false).
    func extract(_ file: FilePath, kind: DocumentKind) async throws(ExtractionError) -> ExtractedText
}
