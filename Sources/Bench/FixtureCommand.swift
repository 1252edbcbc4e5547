import ArgumentParser
import DocumentFixtures
import Foundation

/// `saas-bench fixture pdf`: writes a generated document to a file for `scripts/bench-uploads.sh`
/// (issue 14): a report of `--pages` pages of prose (``ReportProse``, about 3 KB a page, which
/// ``PDFFixture`` lays out on one page each), or as many such pages as fit in `--max-mib` — the
/// 50 MiB upload of the API's memory test. Prints one JSON line: pages, bytes, seconds.
struct FixtureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fixture",
        abstract: "Write a generated document to a file.",
        subcommands: [PDF.self]
    )

    struct PDF: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pdf",
            abstract: "A PDF of generated report prose, one page per page of text (pdftotext reads it page by page)."
        )

        @Option(help: "Pages to write.")
        var pages: Int?

        @Option(help: "Instead of --pages: as many pages as fit in this many MiB (the file is at most that size).")
        var maxMib: Int?

        @Option(help: "Text per page, bytes (about 46 lines of 80 characters fit on a page).")
        var pageBytes: Int = 3000

        @Option(help: "The file to write.")
        var out: String

        func validate() throws {
            guard (pages == nil) != (maxMib == nil) else { throw ValidationError("give exactly one of --pages and --max-mib") }
            guard (pages ?? 1) >= 1, (maxMib ?? 1) >= 1 else { throw ValidationError("--pages and --max-mib must be at least 1") }
            guard (200...3500).contains(pageBytes) else { throw ValidationError("--page-bytes must be within 200…3500 (one page's worth)") }
        }

        func run() throws {
            let started = ContinuousClock.now
            let pdf = pages.map(make) ?? fitting(maxBytes: maxMib! << 20)
            try Data(pdf.bytes).write(to: URL(fileURLWithPath: out))
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            print(
                #"{"bench":"fixture","kind":"pdf","pages":\#(pdf.pages),"bytes":\#(pdf.bytes.count),"seconds":\#(BenchReport.format(seconds, places: 2))}"#
            )
        }

        private func make(_ count: Int) -> (pages: Int, bytes: [UInt8]) {
            (count, PDFFixture.make(pages: (1...count).map { ReportProse.page($0, bytes: pageBytes) }))
        }

        /// Nearly the most pages whose PDF is at most `maxBytes`: the count estimated from a
        /// sample's bytes per page, 1 % short (later pages cost a little more: longer object
        /// numbers and page list), so that one PDF is made, not two; lowered while it is too big.
        private func fitting(maxBytes: Int) -> (pages: Int, bytes: [UInt8]) {
            let one = make(1).bytes.count
            let sample = 64
            let perPage = Double(make(sample).bytes.count - one) / Double(sample - 1)
            var count = max(1, Int(Double(maxBytes - one) / perPage * 0.99) + 1)
            while true {
                let pdf = make(count)
                if pdf.bytes.count <= maxBytes || count == 1 { return pdf }
                count = max(1, count - Int((Double(pdf.bytes.count - maxBytes) / perPage).rounded(.up)) - 1)
            }
        }
    }
}
