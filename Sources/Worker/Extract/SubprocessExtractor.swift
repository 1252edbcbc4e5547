import Foundation
import Logging
import Shared
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Extraction with Debian's tools, each run through ``ExtractorCommand`` (timeout, memory limit,
/// output cap, no network):
///
/// - PDF: `pdftotext -enc UTF-8 -eol unix <file> -`, one page per form feed. Without `-layout`:
///   poppler's default reading order follows columns (a two-column paper reads column by column),
///   where `-layout` interleaves the columns line by line and pads with runs of spaces that cost
///   tokens; the default also keeps paragraphs as lines, which is what the chunker wants.
/// - DOCX, ODT, HTML: `pandoc --sandbox -f <kind> -t plain --wrap=none <file>`, one page (form
///   feeds dropped). A DOCX or ODT passes ``ZipInspector`` first. `--sandbox` keeps pandoc from
///   reading or fetching anything but its input (images, includes).
/// - Markdown and text: read, no subprocess; pages split on form feeds. Markdown stays Markdown.
///
/// Every text is cleaned the same way: invalid UTF-8 becomes U+FFFD, U+0000 is dropped (neither
/// can be stored or shown as is).
final class SubprocessExtractor: DocumentExtractor {
    let settings: ExtractionSettings
    private let logger: Logger
    /// The wrappers, probed once when the extractor is made (a few milliseconds).
    private let sandbox: Task<Sandbox, Never>

    init(settings: ExtractionSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        sandbox = Task { await Sandbox.probe(logger: logger) }
        // What a killed worker left: older than any live extraction can be.
        let stale = max(600, 2 * Double(settings.timeout.components.seconds))
        Task.detached(priority: .background) {
            let removed = ExtractionWorkspace.removeStale(olderThan: stale)
            if removed > 0 { logger.info("removed stale extraction workspaces", metadata: ["count": "\(removed)"]) }
        }
    }

    func extract(_ file: FilePath, kind: DocumentKind) async throws(ExtractionError) -> ExtractedText {
        let text: ExtractedText
        switch kind {
        case .pdf:
            let output = try await run(settings.pdftotextPath, ["-enc", "UTF-8", "-eol", "unix", file.string, "-"], file: file, kind: kind)
            text = try paged(Self.cleaned(output))
        case .docx, .odt, .html:
            if kind != .html { _ = try ZipInspector(limits: settings.zip).inspect(file, kind: kind) }
            let format = kind == .docx ? "docx" : kind == .odt ? "odt" : "html"
            let output = try await run(
                settings.pandocPath,
                ["--sandbox", "-f", format, "-t", "plain", "--wrap=none", file.string],
                file: file,
                kind: kind
            )
            text = ExtractedText(pages: [Self.cleaned(output)])
        case .markdown, .text:
            text = try paged(Self.cleaned(try readText(file)))
        }
        guard text.hasText else { throw .noText(kind) }
        return text
    }

    /// The text split into its pages at form feeds, counted before it is split.
    private func paged(_ text: String) throws(ExtractionError) -> ExtractedText {
        var feeds = 0
        for byte in text.utf8 where byte == 0x0C {
            feeds += 1
            // A final form feed ends the last page (pdftotext ends every page with one).
            if feeds > settings.maxPages { throw .tooManyPages(limit: settings.maxPages) }
        }
        return ExtractedText(joined: text)
    }

    /// Runs one extractor and turns its ending into text or a typed refusal.
    private func run(_ tool: String, _ arguments: [String], file: FilePath, kind: DocumentKind) async throws(ExtractionError) -> [UInt8] {
        guard let executable = ExecutableLookup.find(tool) else { throw .extractorMissing(tool) }
        let command = ExtractorCommand(
            sandbox: await sandbox.value,
            timeout: settings.timeout,
            memoryLimitBytes: settings.memoryLimitBytes,
            outputLimit: settings.maxTextBytes
        )
        let result = try await command.run(executable, arguments, in: file.removingLastComponent())
        let error = result.errorOutput.lowercased()
        switch result.ending {
        case .exited(0):
            return result.output
        case .timedOut:
            throw .timedOut(settings.timeout)
        case .outputTooLarge:
            throw .textTooLarge(limitBytes: settings.maxTextBytes)
        case _ where Self.memoryExhausted(error):
            throw .tooMuchMemory(limitBytes: settings.memoryLimitBytes)
        case .signaled(SIGKILL):
            // Not ours (ours are timedOut and outputTooLarge): the kernel's out-of-memory killer.
            throw .tooMuchMemory(limitBytes: settings.memoryLimitBytes)
        case .exited(let code) where (code == 126 || code == 127) && error.contains("failed to execute"):
            // A wrapper could not exec the extractor (it vanished, or a script's interpreter is missing).
            logger.error("document extractor could not be executed", metadata: ["extractor": "\(executable)", "stderr": "\(result.errorOutput)"])
            throw .extractorMissing(executable)
        case .exited(let code) where kind == .pdf && (error.contains("incorrect password") || code == 3):
            // pdftotext: "Incorrect password" (a user password is needed) or status 3 (permissions).
            throw .encrypted(.pdf)
        case .exited(let code):
            throw .unreadable(kind, diagnostic: "\(tool) exited with status \(code): \(Self.firstLines(result.errorOutput))")
        case .signaled(let signal):
            throw .unreadable(kind, diagnostic: "\(tool) died of signal \(signal): \(Self.firstLines(result.errorOutput))")
        }
    }

    /// The words extractors and their runtimes use when an allocation fails under the limit:
    /// pandoc's GHC runtime "Unable to commit … bytes of memory" (then SIGABRT) or "out of
    /// memory" (status 251), C++ `std::bad_alloc`, poppler "Out of memory", glibc's loader
    /// "failed to map segment", bash "xrealloc: cannot allocate".
    private static func memoryExhausted(_ errorOutput: String) -> Bool {
        [
            "unable to commit", "out of memory", "cannot allocate", "bad_alloc", "memory exhausted", "failed to map segment",
            "heap exhausted", "heap overflow",
        ]
        .contains { errorOutput.contains($0) }
    }

    private static func firstLines(_ text: String) -> String {
        String(text.split(separator: "\n").prefix(3).joined(separator: " | ").prefix(500))
    }

    /// A text or Markdown upload, read whole when it is within the text limit.
    private func readText(_ file: FilePath) throws(ExtractionError) -> [UInt8] {
        do {
            let descriptor = try FileDescriptor.open(file, .readOnly, options: [.closeOnExec])
            defer { try? descriptor.close() }
            let size = Int(try descriptor.seek(offset: 0, from: .end))
            guard size <= settings.maxTextBytes else { throw ExtractionError.textTooLarge(limitBytes: settings.maxTextBytes) }
            var bytes = [UInt8](repeating: 0, count: size)
            let read = try bytes.withUnsafeMutableBytes { try descriptor.read(fromAbsoluteOffset: 0, into: $0) }
            return Array(bytes.prefix(read))
        } catch let error as ExtractionError {
            throw error
        } catch {
            throw .extractorUnusable("cannot read \(file): \(error)")
        }
    }

    /// UTF-8 as stored: U+0000 dropped (a zero byte is never part of a longer UTF-8 sequence, so
    /// dropping the bytes is dropping the character), invalid sequences become U+FFFD.
    static func cleaned(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.contains(0) ? bytes.filter { $0 != 0 } : bytes, as: UTF8.self)
    }
}
