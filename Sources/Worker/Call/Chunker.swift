import Foundation

/// Splits a document into chunks of at most `maxBytes` of UTF-8, on paragraph boundaries where
/// it can, else on sentence boundaries, else on white space, else anywhere on a character
/// boundary — so a chunk's analysis sees whole thoughts whenever the text allows.
enum Chunker {
    static func split(_ text: String, maxBytes: Int) -> [String] {
        let limit = max(16, maxBytes)
        var chunks: [String] = []
        var current = ""
        func flush() {
            if !current.isEmpty { chunks.append(current) }
            current = ""
        }
        for piece in pieces(text, limit: limit) {
            if current.utf8.count + piece.utf8.count > limit { flush() }
            current += piece
        }
        flush()
        return chunks
    }

    /// Paragraphs (with their trailing blank lines), each broken further when it alone is too big.
    private static func pieces(_ text: String, limit: Int) -> [Substring] {
        var out: [Substring] = []
        for paragraph in separate(text[...], by: "\n\n") {
            if paragraph.utf8.count <= limit {
                out.append(paragraph)
                continue
            }
            for sentence in sentences(paragraph) {
                if sentence.utf8.count <= limit {
                    out.append(sentence)
                } else {
                    out.append(contentsOf: hardSplit(sentence, limit: limit))
                }
            }
        }
        return out
    }

    /// Splits after each occurrence of `separator`, keeping it with the piece before.
    private static func separate(_ text: Substring, by separator: String) -> [Substring] {
        var out: [Substring] = []
        var start = text.startIndex
        var search = start
        while let range = text[search...].range(of: separator) {
            var end = range.upperBound
            while end < text.endIndex && text[end] == "\n" { end = text.index(after: end) }
            out.append(text[start..<end])
            start = end
            search = end
        }
        if start < text.endIndex { out.append(text[start...]) }
        return out
    }

    private static func sentences(_ text: Substring) -> [Substring] {
        var out: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            if ".!?\n".contains(character), next == text.endIndex || text[next] == " " || text[next] == "\n" {
                out.append(text[start..<next])
                start = next
            }
            index = next
        }
        if start < text.endIndex { out.append(text[start...]) }
        return out
    }

    /// Last resort: the longest prefix within `limit` bytes, cut at white space if there is any.
    private static func hardSplit(_ text: Substring, limit: Int) -> [Substring] {
        var out: [Substring] = []
        var rest = text
        while rest.utf8.count > limit {
            var end = rest.startIndex
            var bytes = 0
            var lastSpace: Substring.Index?
            while end < rest.endIndex {
                let size = rest[end].utf8.count
                if bytes + size > limit { break }
                bytes += size
                if rest[end].isWhitespace { lastSpace = rest.index(after: end) }
                end = rest.index(after: end)
            }
            let cut = lastSpace ?? (end == rest.startIndex ? rest.index(after: end) : end)
            out.append(rest[..<cut])
            rest = rest[cut...]
        }
        if !rest.isEmpty { out.append(rest) }
        return out
    }
}

/// A document's text as the calls see it: its pages, and whether they are shown — an uploaded
/// file's chunks are marked with their pages and its result names them (`sources`); a document
/// sent as JSON text is one unmarked page.
struct DocumentText: Sendable, Hashable {
    var pages: [String]
    var showsPages: Bool

    /// The whole text as one prompt: pages marked when they are shown.
    var prompt: String {
        showsPages ? pages.enumerated().map { DocumentChunk.marker($0.offset + 1) + $0.element }.joined(separator: "\n\n") : pages.joined()
    }
}

/// One map call's text, and the pages (1-based, inclusive) it holds.
struct DocumentChunk: Sendable, Hashable {
    var text: String
    var firstPage: Int
    var lastPage: Int

    /// The line that opens a page's text in a prompt.
    static func marker(_ page: Int) -> String { "[Page \(page)]\n" }
}

extension Chunker {
    /// Packs pages into chunks of at most `maxBytes`: whole pages while the next one fits, so a
    /// chunk never crosses a page boundary it need not; a page too big for a chunk of its own is
    /// split by ``split(_:maxBytes:)``, each piece on its page. Unshown pages are one text.
    static func chunks(_ document: DocumentText, maxBytes: Int) -> [DocumentChunk] {
        guard document.showsPages else {
            return split(document.pages.joined(), maxBytes: maxBytes).map { DocumentChunk(text: $0, firstPage: 1, lastPage: 1) }
        }
        let limit = max(64, maxBytes)
        var chunks: [DocumentChunk] = []
        var current: DocumentChunk?
        for (offset, page) in document.pages.enumerated() {
            let number = offset + 1
            let marked = DocumentChunk.marker(number) + page
            if var open = current, open.text.utf8.count + 2 + marked.utf8.count <= limit {
                open.text += "\n\n" + marked
                open.lastPage = number
                current = open
                continue
            }
            if let open = current { chunks.append(open) }
            current = nil
            if marked.utf8.count <= limit {
                current = DocumentChunk(text: marked, firstPage: number, lastPage: number)
            } else {
                let marker = DocumentChunk.marker(number)
                for piece in split(page, maxBytes: limit - marker.utf8.count) {
                    chunks.append(DocumentChunk(text: marker + piece, firstPage: number, lastPage: number))
                }
            }
        }
        if let open = current { chunks.append(open) }
        return chunks.isEmpty ? [DocumentChunk(text: "", firstPage: 1, lastPage: 1)] : chunks
    }
}
