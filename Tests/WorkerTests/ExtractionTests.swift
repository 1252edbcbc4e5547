import DocumentFixtures
import Foundation
import Shared
import Testing

@testable import Worker

@Suite("Extraction: each document kind's text, page by page")
struct ExtractionTests {
    @Test("a PDF of 3 pages gives 3 pages, each with its own text; long lines wrap, Latin-1 survives")
    func pdfPages() async throws {
        let harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        let long = "Second page beta " + String(repeating: "word ", count: 40)
        let text = try await harness.extract(PDFFixture.make(pages: ["First page (alpha) café", long, "Third page gamma"]), as: .pdf).get()
        #expect(text.pages.count == 3)
        #expect(text.pages[0].contains("First page (alpha) café"))
        #expect(text.pages[1].contains("Second page beta") && text.pages[1].components(separatedBy: "word").count == 41)
        #expect(text.pages[2].contains("Third page gamma"))
        #expect(!text.pages[0].contains("beta") && !text.pages[2].contains("alpha"))
    }

    @Test("an empty page keeps its place: page numbers stay those of the PDF")
    func pdfEmptyPage() async throws {
        let harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        let text = try await harness.extract(PDFFixture.make(pages: ["one", "", "three"]), as: .pdf).get()
        #expect(text.pages.count == 3)
        #expect(text.pages[1].allSatisfy { $0.isWhitespace })
        #expect(text.pages[2].contains("three"))
    }

    @Test("a 200-page PDF is made and extracted quickly")
    func pdfTwoHundredPages() async throws {
        let harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        let pages = (1...200).map { "Page \($0). " + String(repeating: "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", count: 20) }
        // How long it takes is scripts/bench-uploads.sh's to say, not a test's.
        let text = try await harness.extract(PDFFixture.make(pages: pages), as: .pdf).get()
        #expect(text.pages.count == 200)
        #expect(text.pages[149].hasPrefix("Page 150."))
    }

    @Test("DOCX: one page, its paragraphs in order, markup characters as text")
    func docx() async throws {
        let harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        let text = try await harness.extract(DOCXFixture.make(paragraphs: ["Hello <docx> & co", "Second paragraph"]), as: .docx).get()
        #expect(text.pages.count == 1)
        #expect(text.pages[0].contains("Hello <docx> & co"))
        #expect(text.pages[0].range(of: "Hello")!.lowerBound < text.pages[0].range(of: "Second paragraph")!.lowerBound)
    }

    @Test("ODT: one page, its paragraphs")
    func odt() async throws {
        let harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        let text = try await harness.extract(ODTFixture.make(paragraphs: ["Hello odt", "Second odt paragraph"]), as: .odt).get()
        #expect(text.pages == ["Hello odt\n\nSecond odt paragraph\n"])
    }

    @Test("HTML: the text without tags or scripts")
    func html() async throws {
        let harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        let html = "<html><head><title>T</title><script>alert('x')</script></head><body><h1>Report</h1><p>Costs &amp; gains</p></body></html>"
        let text = try await harness.extract(html, as: .html).get()
        #expect(text.pages.count == 1)
        #expect(text.pages[0].contains("Report") && text.pages[0].contains("Costs & gains"))
        #expect(!text.pages[0].contains("<p>") && !text.pages[0].contains("alert"))
    }

    @Test("a text of more pages than MAX_DOCUMENT_PAGES is refused before it is split")
    func tooManyPages() async throws {
        var harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        harness.settings.maxPages = 10
        let text = String(repeating: "x\u{0C}", count: 50)
        #expect(await harness.extract(text, as: .text).failure == .tooManyPages(limit: 10))
        #expect(try await harness.extract(String(repeating: "x\u{0C}", count: 10), as: .text).get().pages.count == 10)
    }

    @Test("Markdown stays Markdown")
    func markdown() async throws {
        let harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        let markdown = "# Title\n\n* one\n* **two**\n"
        #expect(try await harness.extract(markdown, as: .markdown).get().pages == [markdown])
    }

    @Test("text: pages split on form feeds; U+0000 dropped, invalid UTF-8 replaced")
    func text() async throws {
        let harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        let pages = try await harness.extract("page one\u{0C}page two\u{0C}page three\u{0C}", as: .text).get().pages
        #expect(pages == ["page one", "page two", "page three"])
        let dirty: [UInt8] = Array("a\u{0}b ".utf8) + [0xFF, 0xC3] + Array(" c".utf8)
        #expect(try await harness.extract(dirty, as: .text).get().pages == ["ab \u{FFFD}\u{FFFD} c"])
    }

    @Test("nothing but white space is noText, a document's fault")
    func noText() async throws {
        let harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        let pdf = await harness.extract(PDFFixture.make(pages: ["", ""]), as: .pdf).failure
        #expect(pdf == .noText(.pdf))
        #expect(pdf?.isDocumentFault == true && pdf?.message.contains("OCR") == true)
        #expect(await harness.extract(" \n\u{0C}\n", as: .text).failure == .noText(.text))
    }

    @Test("a text file past the text limit is textTooLarge without being read")
    func textTooLarge() async throws {
        var harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        harness.settings.maxTextBytes = 1024
        #expect(await harness.extract(String(repeating: "x", count: 1025), as: .markdown).failure == .textTooLarge(limitBytes: 1024))
    }
}
