/// Word documents zipped from XML: the three parts a reader needs and nothing else.
public enum DOCXFixture {
    /// A DOCX with one paragraph per string.
    public static func make(paragraphs: [String]) -> [UInt8] {
        let body = paragraphs.map { "<w:p><w:r><w:t xml:space=\"preserve\">\(XMLText.escaped($0))</w:t></w:r></w:p>" }.joined()
        return archive(documentXML: .stored("word/document.xml", text: documentHead + body + documentTail))
    }

    /// A DOCX whose `word/document.xml` is a deflate bomb: one paragraph of `expandingTo` bytes
    /// (mostly the letter a) from about `expandingTo / 160` compressed bytes. Its headers declare
    /// the true size, so reading the central directory is enough to refuse it.
    public static func zipBomb(expandingTo size: Int = 1 << 30) -> [UInt8] {
        let stream = bombStream(size)
        return archive(
            documentXML: .deflated(
                "word/document.xml",
                compressed: stream.compressed,
                crc32: stream.crc32,
                uncompressedSize: UInt32(stream.uncompressedSize)
            )
        )
    }

    /// The same bomb with lying headers: local and central headers declare `declaredSize` bytes
    /// (the checksum is still the true one). Only the extractor's memory limit, output cap and
    /// timeout stop this one.
    public static func lyingZipBomb(expandingTo size: Int = 1 << 30, declaredSize: UInt32 = 4096) -> [UInt8] {
        let stream = bombStream(size)
        return archive(
            documentXML: .deflated("word/document.xml", compressed: stream.compressed, crc32: stream.crc32, uncompressedSize: declaredSize)
        )
    }

    private static let documentHead =
        #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#
        + #"<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#
    private static let documentTail = "</w:body></w:document>"

    private static func bombStream(_ size: Int) -> DeflateBomb.Stream {
        let prefix = Array((documentHead + "<w:p><w:r><w:t>").utf8)
        let suffix = Array(("</w:t></w:r></w:p>" + documentTail).utf8)
        precondition(size > prefix.count + suffix.count && size < Int(UInt32.max), "a bomb expands to more than its XML and less than 4 GiB")
        return DeflateBomb.make(prefix: prefix, fill: UInt8(ascii: "a"), runLength: size - prefix.count - suffix.count, suffix: suffix)
    }

    private static func archive(documentXML: ZipFixture.Entry) -> [UInt8] {
        ZipFixture.make([
            .stored(
                "[Content_Types].xml",
                text: #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#
                    + #"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#
                    + #"<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>"#
                    + #"<Default Extension="xml" ContentType="application/xml"/>"#
                    + #"<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>"#
                    + "</Types>"
            ),
            .stored(
                "_rels/.rels",
                text: #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#
                    + #"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
                    + #"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>"#
                    + "</Relationships>"
            ),
            documentXML,
        ])
    }
}

/// OpenDocument text: `mimetype` stored first (the format's magic), the manifest, the content and
/// a `styles.xml` with an empty `office:styles` (pandoc refuses an ODT without one: "Could not
/// find styles.xml", and one without `office:styles`: "Could not read styles").
public enum ODTFixture {
    public static let mediaType = "application/vnd.oasis.opendocument.text"

    /// An ODT with one paragraph per string.
    public static func make(paragraphs: [String]) -> [UInt8] {
        let body = paragraphs.map { "<text:p>\(XMLText.escaped($0))</text:p>" }.joined()
        return ZipFixture.make([
            .stored("mimetype", text: mediaType),
            .stored(
                "META-INF/manifest.xml",
                text: #"<?xml version="1.0" encoding="UTF-8"?>"#
                    + #"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">"#
                    + #"<manifest:file-entry manifest:full-path="/" manifest:media-type="\#(mediaType)"/>"#
                    + #"<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>"#
                    + #"<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>"#
                    + "</manifest:manifest>"
            ),
            .stored(
                "content.xml",
                text: #"<?xml version="1.0" encoding="UTF-8"?>"#
                    + #"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" "#
                    + #"xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">"#
                    + "<office:body><office:text>\(body)</office:text></office:body></office:document-content>"
            ),
            .stored(
                "styles.xml",
                text: #"<?xml version="1.0" encoding="UTF-8"?>"#
                    + #"<office:document-styles xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2">"#
                    + "<office:styles/></office:document-styles>"
            ),
        ])
    }
}

enum XMLText {
    static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }
}
