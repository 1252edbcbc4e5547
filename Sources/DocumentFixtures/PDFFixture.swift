/// PDFs written by code: Helvetica text, one page per string, a correct cross-reference table.
/// `pdftotext` reads them page by page (each page ends with a form feed in its output).
public enum PDFFixture {
    /// Characters per line before a line is wrapped (at a space when there is one). About 46
    /// lines fit on a page; text past them runs off the page's bottom, so keep pages shorter.
    public static let lineWidth = 80

    /// A PDF with one page per string. Line breaks in a string are kept; long lines are wrapped.
    /// Characters outside Latin-1 become `?` (the font's encoding is WinAnsi).
    public static func make(pages: [String]) -> [UInt8] {
        PDFWriter(pages: pages).write(encrypt: false)
    }

    /// A PDF that poppler refuses as encrypted: a Standard security handler whose /U entry does
    /// not match the empty user password, so opening it needs a password nobody has
    /// (`pdftotext` says "Command Line Error: Incorrect password").
    public static func encrypted(pages: [String] = ["This page is locked."]) -> [UInt8] {
        PDFWriter(pages: pages).write(encrypt: true)
    }

    /// A valid PDF's first bytes, cut a few bytes into the first page's content stream: no page
    /// object, no cross-reference table, no trailer. poppler 22.12's `pdftotext` refuses it
    /// ("Syntax Error: Couldn't find trailer dictionary", "Couldn't read xref table", status 1);
    /// it refused every cut before the trailer that was tried (30 % to 97 % of a 3-page file).
    public static func truncated(pages: [String] = ["The end of this file is missing.", "A second page."]) -> [UInt8] {
        let whole = make(pages: pages)
        let marker = Array("stream\n".utf8)
        // Cut a few bytes into the first content stream: everything before it is the catalog, the
        // page tree and the font; the first page object comes after its content.
        guard let start = whole.firstRange(of: marker) else { return Array(whole.prefix(whole.count / 2)) }
        return Array(whole[..<(start.upperBound + 5)])
    }
}

private struct PDFWriter {
    var pages: [String]

    func write(encrypt: Bool) -> [UInt8] {
        var output: [UInt8] = Array("%PDF-1.4\n%".utf8) + [0xE2, 0xE3, 0xCF, 0xD3, 0x0A]
        var offsets: [Int] = []
        func object(_ body: [UInt8]) {
            offsets.append(output.count)
            output += Array("\(offsets.count) 0 obj\n".utf8)
            output += body
            output += Array("\nendobj\n".utf8)
        }
        let pageCount = max(pages.count, 1)
        // 1 catalog, 2 page tree, 3 font, then per page its content stream and the page itself.
        let kids = (0..<pageCount).map { "\(5 + 2 * $0) 0 R" }.joined(separator: " ")
        object(Array("<< /Type /Catalog /Pages 2 0 R >>".utf8))
        object(Array("<< /Type /Pages /Kids [\(kids)] /Count \(pageCount) >>".utf8))
        object(Array("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".utf8))
        for index in 0..<pageCount {
            let content = Self.contentStream(index < pages.count ? pages[index] : "")
            object(Array("<< /Length \(content.count) >>\nstream\n".utf8) + content + Array("\nendstream".utf8))
            object(
                Array(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents \(4 + 2 * index) 0 R >>"
                        .utf8
                )
            )
        }
        var trailerExtras = ""
        if encrypt {
            // Revision 2, 40-bit RC4. /U is the empty password's check value only by accident.
            let owner = String(repeating: "4F", count: 32)
            let user = String(repeating: "55", count: 32)
            object(Array("<< /Filter /Standard /V 1 /R 2 /O <\(owner)> /U <\(user)> /P -44 >>".utf8))
            let identifier = String(repeating: "0123456789ABCDEF", count: 2)
            trailerExtras = " /Encrypt \(offsets.count) 0 R /ID [<\(identifier)> <\(identifier)>]"
        }
        let crossReference = output.count
        var table = "xref\n0 \(offsets.count + 1)\n0000000000 65535 f \n"
        for offset in offsets { table += Self.padded(offset) + " 00000 n \n" }
        table += "trailer\n<< /Size \(offsets.count + 1) /Root 1 0 R\(trailerExtras) >>\nstartxref\n\(crossReference)\n%%EOF\n"
        output += Array(table.utf8)
        return output
    }

    /// A cross-reference offset: ten digits, zero-padded (each table row is exactly 20 bytes).
    private static func padded(_ offset: Int) -> String {
        let digits = String(offset)
        return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    private static func contentStream(_ text: String) -> [UInt8] {
        var stream: [UInt8] = Array("BT\n/F1 11 Tf\n14 TL\n72 720 Td\n".utf8)
        for (index, line) in wrap(text).enumerated() {
            if index > 0 { stream += Array("T*\n".utf8) }
            stream.append(UInt8(ascii: "("))
            stream += escaped(line)
            stream += Array(") Tj\n".utf8)
        }
        stream += Array("ET".utf8)
        return stream
    }

    /// The page's lines: its own line breaks, and long lines broken at the last space that fits.
    private static func wrap(_ text: String) -> [Substring] {
        var lines: [Substring] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var rest = paragraph
            while rest.count > PDFFixture.lineWidth {
                let limit = rest.index(rest.startIndex, offsetBy: PDFFixture.lineWidth)
                let cut = rest[..<limit].lastIndex(of: " ") ?? limit
                lines.append(rest[..<cut])
                rest = rest[cut...].drop { $0 == " " }
            }
            lines.append(rest)
        }
        return lines
    }

    /// A PDF string literal's body: `\`, `(` and `)` escaped, Latin-1 above ASCII as octal escapes
    /// (WinAnsi agrees with Latin-1 there), control characters as spaces, anything else as `?`.
    private static func escaped(_ line: Substring) -> [UInt8] {
        var bytes: [UInt8] = []
        for scalar in line.unicodeScalars {
            switch scalar.value {
            case 0x5C, 0x28, 0x29: bytes += [UInt8(ascii: "\\"), UInt8(scalar.value)]
            case 0x20..<0x7F: bytes.append(UInt8(scalar.value))
            case 0xA0...0xFF:
                let value = scalar.value
                bytes += Array("\\\(value / 64)\((value / 8) % 8)\(value % 8)".utf8)
            case 0..<0x20, 0x7F..<0xA0: bytes.append(UInt8(ascii: " "))
            default: bytes.append(UInt8(ascii: "?"))
            }
        }
        return bytes
    }
}
