import DocumentFixtures
import Foundation
import Testing

@testable import Shared

/// An upload's kind from its bytes alone (issue 14): each kind the service takes, the files it
/// refuses, and the same answer however the bytes are cut into reads.
@Suite("DocumentSniffer: the kind of an upload from its bytes")
struct DocumentSnifferTests {
    static func kind(_ bytes: [UInt8]) -> DocumentKind? {
        var sniffer = DocumentSniffer()
        sniffer.consume(bytes)
        return sniffer.kind()
    }

    /// The kinds seen when `bytes` is cut in two at every position, and fed a byte at a time.
    static func kindsAtEverySplit(_ bytes: [UInt8]) -> Set<DocumentKind?> {
        var kinds: Set<DocumentKind?> = []
        for split in 0...bytes.count {
            var sniffer = DocumentSniffer()
            sniffer.consume(bytes[..<split])
            sniffer.consume(bytes[split...])
            kinds.insert(sniffer.kind())
        }
        var sniffer = DocumentSniffer()
        for byte in bytes { sniffer.consume([byte]) }
        kinds.insert(sniffer.kind())
        return kinds
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static let pdf = PDFFixture.make(pages: ["First page.", "Second page."])
    static let docx = DOCXFixture.make(paragraphs: ["A paragraph.", "Another one."])
    static let odt = ODTFixture.make(paragraphs: ["A paragraph."])
    static let xlsx = ZipFixture.make([
        .stored("[Content_Types].xml", text: "<Types/>"),
        .stored("_rels/.rels", text: "<Relationships/>"),
        .stored("xl/workbook.xml", text: "<workbook/>"),
    ])
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D] + Array("IHDR".utf8) + [UInt8](repeating: 7, count: 40)
    static let html = bytes("<!DOCTYPE html>\n<html><head><title>T</title></head><body><p>Hello</p></body></html>\n")
    static let markdown = bytes("# Title\n\nSome *text* with a [link](https://example.com).\n\n- one\n- two\n")
    static let text = bytes("Dear team,\n\nthe report is attached.\tThanks.\n\u{0C}Page two — naïve café, 5 €.\n")

    @Test("each kind the service takes, and the same answer at every split")
    func eachKind() {
        let cases: [([UInt8], DocumentKind)] = [
            (Self.pdf, .pdf), (Self.docx, .docx), (Self.odt, .odt), (Self.html, .html), (Self.markdown, .markdown), (Self.text, .text),
        ]
        for (bytes, kind) in cases {
            #expect(Self.kind(bytes) == kind)
            #expect(Self.kindsAtEverySplit(bytes) == [kind], "\(kind)")
        }
    }

    @Test("files it refuses: images, other zips, executables, compressed data, an empty file")
    func refused() {
        let refused: [(String, [UInt8])] = [
            ("png", Self.png),
            ("jpeg", [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Self.bytes("JFIF") + [0, 1, 1, 0]),
            ("gif", Self.bytes("GIF89a") + [1, 0, 1, 0, 0x80, 0, 0]),
            ("webp", Self.bytes("RIFF") + [0x24, 0, 0, 0] + Self.bytes("WEBPVP8 ") + [0, 0, 0, 0]),
            ("tiff", [0x49, 0x49, 0x2A, 0x00, 0x08, 0, 0, 0]),
            ("elf", [0x7F] + Self.bytes("ELF") + [2, 1, 1, 0, 0, 0, 0, 0]),
            ("gzip", [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0, 3]),
            ("xlsx", Self.xlsx),
            (
                "epub",
                ZipFixture.make([.stored("mimetype", text: "application/epub+zip"), .stored("META-INF/container.xml", text: "<container/>")])
            ),
            (
                "ott (an ODF template, not a text)",
                ZipFixture.make([.stored("mimetype", text: "application/vnd.oasis.opendocument.text-template"), .stored("content.xml", text: "<x/>")])
            ),
            ("empty", []),
        ]
        for (name, bytes) in refused {
            #expect(Self.kind(bytes) == nil, "\(name)")
        }
        #expect(Self.kindsAtEverySplit(Self.png) == [nil])
        #expect(Self.kindsAtEverySplit(Self.xlsx) == [nil])
    }

    @Test("text only when every byte is UTF-8 without NUL or binary controls")
    func textValidity() {
        let good = Self.bytes("plain words, naïve — ✓ 😀\n")
        #expect(Self.kind(good) == .text)
        #expect(Self.kind([0xEF, 0xBB, 0xBF] + good) == .text, "a BOM is fine")
        #expect(Self.kind(good + [0xFF]) == nil, "one invalid byte at the very end")
        #expect(Self.kind(good + [0xE2, 0x82]) == nil, "a sequence cut short at the end")
        #expect(Self.kind(Self.bytes("before") + [0x00] + Self.bytes("after")) == nil, "NUL in the middle")
        #expect(Self.kind(Self.bytes("bell\u{07}")) == nil, "a C0 control")
        #expect(Self.kind(Self.bytes("escape \u{1B}[31m")) == nil)
        #expect(Self.kind(Self.bytes("tab\tcr\r\nff\u{0C}")) == .text, "tab, CR, LF and FF are text")
        #expect(Self.kind(Self.bytes("a") + [0xC0, 0xAF]) == nil, "an overlong encoding")
        #expect(Self.kind(Self.bytes("a") + [0xED, 0xA0, 0x80]) == nil, "a surrogate")
        #expect(Self.kind(Self.bytes("a") + [0xF4, 0x90, 0x80, 0x80]) == nil, "past U+10FFFF")
        #expect(Self.kind([0x80] + Self.bytes("a")) == nil, "a stray continuation byte")
    }

    @Test("a multi-byte character split across reads at every position")
    func multiByteAcrossReads() {
        let bytes = Self.bytes("€ 😀 naïve")
        #expect(Self.kindsAtEverySplit(bytes) == [.text])
        // Split inside the 4-byte emoji into three reads, too.
        let emoji = Array("😀".utf8)
        var sniffer = DocumentSniffer()
        sniffer.consume(emoji[0..<1])
        sniffer.consume(emoji[1..<3])
        sniffer.consume(emoji[3...])
        #expect(sniffer.kind() == .text)
    }

    @Test("HTML by its opening or an early head/body tag, never a look-alike")
    func html() {
        #expect(Self.kind([0xEF, 0xBB, 0xBF] + Self.bytes(" \n\t<HTML lang=\"en\"><p>x</p></HTML>")) == .html)
        #expect(Self.kind(Self.bytes("<html>\n<p>x</p>")) == .html)
        #expect(Self.kind(Self.bytes("<!-- generated -->\n<HEAD><title>x</title></HEAD>")) == .html)
        #expect(Self.kind(Self.bytes("<?xml version=\"1.0\"?>\n<!DOCTYPE html>\n<html/>")) == .html)
        #expect(Self.kind(Self.bytes("<header>not a head tag</header>\nplain")) == .text)
        #expect(Self.kind(Self.bytes("<htmlish>")) == .text)
    }

    @Test("Markdown by its line signs, plain text otherwise")
    func markdown() {
        #expect(Self.kind(Self.bytes("Intro\n\n## Section\n\ntext\n")) == .markdown, "a heading")
        #expect(Self.kind(Self.bytes("Look:\n```swift\nlet x = 1\n```\n")) == .markdown, "fenced code")
        #expect(Self.kind(Self.bytes("See [the docs](https://example.com).\n")) == .markdown, "a link")
        #expect(Self.kind(Self.bytes("| a | b |\n|---|---|\n| 1 | 2 |\n")) == .markdown, "a table")
        #expect(Self.kind(Self.bytes("Items:\n- one\n- two\n")) == .markdown, "two list items")
        #expect(Self.kind(Self.bytes("Steps:\n1. one\n2) two\n")) == .markdown, "an ordered list")
        #expect(Self.kind(Self.bytes("#hashtag is not a heading\nplain prose - with a dash.\n")) == .text)
        #expect(Self.kind(Self.bytes("Just one line - nothing more.\n* a single star item\n")) == .text, "one weak sign")
        #expect(Self.kind(Self.bytes("    # indented code, not a heading\n")) == .text)
    }

    @Test("%PDF- up to byte 1024; a text that only mentions it stays text")
    func pdfHeader() {
        let junk = [UInt8](repeating: 0x00, count: 100)
        #expect(Self.kind(junk + Self.pdf) == .pdf, "junk before the header, binary")
        let late = [UInt8](repeating: 0x00, count: 1020) + Self.pdf
        #expect(Self.kind(late) == nil, "the header must lie within the first 1024 bytes")
        #expect(Self.kind(Self.bytes("Notes on the %PDF-1.7 header format.\n")) == .text)
        #expect(Self.kind(Self.bytes("# Notes\n\nan ASCII file that ends like a PDF %PDF-1.4\n%%EOF\n")) == .pdf)
        #expect(Self.kind(PDFFixture.encrypted()) == .pdf)
        #expect(Self.kind(PDFFixture.truncated()) == .pdf)
    }

    @Test("DOCX from the central directory when the head cannot reach word/document.xml, and from the head when the end is missing")
    func docxEitherWay() {
        // A first entry larger than the head: only the central directory names the document.
        let big = ZipFixture.make([
            .stored("word/media/image1.bin", [UInt8](repeating: 0x41, count: 100_000)),
            .stored("[Content_Types].xml", text: "<Types/>"),
            .stored("word/document.xml", text: "<w:document/>"),
        ])
        #expect(Self.kind(big) == .docx)
        var chunked = DocumentSniffer()
        var rest = big[...]
        var size = 1
        while !rest.isEmpty {
            chunked.consume(rest.prefix(size))
            rest = rest.dropFirst(size)
            size = size * 3 % 70_001 + 1
        }
        #expect(chunked.kind() == .docx, "chunks of varying sizes, some past the tail's size")
        // Cut before the central directory: the head's local headers still name it.
        let centralDirectoryOffset = Self.uint32(Self.docx, at: Self.docx.count - 22 + 16)
        #expect(Self.kind(Array(Self.docx.prefix(centralDirectoryOffset))) == .docx)
        // A zip bomb is still a DOCX by its headers (its extraction is what fails).
        #expect(Self.kind(DOCXFixture.zipBomb(expandingTo: 1 << 20)) == .docx)
    }

    @Test("a large text keeps its verdict through the tail's compactions")
    func largeText() {
        let line = Self.bytes("- an item with ü and € in it\n")
        var sniffer = DocumentSniffer()
        for _ in 0..<10_000 { sniffer.consume(line) }
        #expect(sniffer.byteCount == line.count * 10_000)
        #expect(sniffer.kind() == .markdown)
        sniffer.consume([0x00])
        #expect(sniffer.kind() == nil, "one NUL at the end of 300 KB")
    }

    @Test("refused while streaming once nothing supported can come of the bytes")
    func unsupportedEarly() {
        var image = DocumentSniffer()
        image.consume(Self.png)
        #expect(!image.isUnsupported, "a PDF header may still come within the first 1024 bytes")
        image.consume([UInt8](repeating: 0x90, count: 1024))
        #expect(image.isUnsupported)
        for bytes in [Self.text, Self.docx, Self.pdf, Array(Self.docx.prefix(3))] {
            var sniffer = DocumentSniffer()
            sniffer.consume(bytes)
            #expect(!sniffer.isUnsupported)
        }
        var binaryThenPDF = DocumentSniffer()
        binaryThenPDF.consume([UInt8](repeating: 0, count: 1100) + Self.pdf)
        #expect(binaryThenPDF.isUnsupported)
        var empty = DocumentSniffer()
        #expect(!empty.isUnsupported)
        empty.consume([UInt8]())
        #expect(empty.kind() == nil)
    }

    private static func uint32(_ bytes: [UInt8], at offset: Int) -> Int {
        (0..<4).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
    }
}
