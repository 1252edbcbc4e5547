import Shared
import Testing

@testable import Worker

@Suite("Chunker: pages packed into chunks, never across a page boundary a page fits in")
struct PageChunkerTests {
    private func page(_ number: Int, bytes: Int) -> String {
        String(repeating: "Page \(number) says something. ", count: max(1, bytes / 28))
    }

    @Test("whole pages while they fit; each chunk names its first and last page; nothing is lost")
    func packsWholePages() {
        let pages = (1...10).map { page($0, bytes: 900) }
        let chunks = Chunker.chunks(DocumentText(pages: pages, showsPages: true), maxBytes: 2000)
        #expect(chunks.count == 5)
        for chunk in chunks {
            #expect(chunk.text.utf8.count <= 2000)
            #expect(chunk.text.hasPrefix(DocumentChunk.marker(chunk.firstPage)))
            for number in chunk.firstPage...chunk.lastPage {
                #expect(chunk.text.contains(DocumentChunk.marker(number) + pages[number - 1]), "page \(number) whole in its chunk")
            }
        }
        #expect(chunks.map(\.firstPage) == [1, 3, 5, 7, 9])
        #expect(chunks.last?.lastPage == 10)
    }

    @Test("a page too big for a chunk of its own is split, every piece on that page and marked with it")
    func splitsBigPage() {
        let pages = [page(1, bytes: 300), page(2, bytes: 5000), page(3, bytes: 300)]
        let chunks = Chunker.chunks(DocumentText(pages: pages, showsPages: true), maxBytes: 1200)
        let second = chunks.filter { $0.firstPage == 2 }
        #expect(second.count == 4, "about 4 KB in pieces of under 1.2 KB")
        #expect(second.allSatisfy { $0.lastPage == 2 && $0.text.hasPrefix(DocumentChunk.marker(2)) && $0.text.utf8.count <= 1200 })
        #expect(chunks.first?.lastPage == 1, "page 1 is not packed with a piece of page 2")
        #expect(chunks.last?.firstPage == 3 && chunks.last?.lastPage == 3)
        let text = second.map { String($0.text.dropFirst(DocumentChunk.marker(2).count)) }.joined()
        #expect(text == pages[1], "the pieces are the page, in order")
    }

    @Test("a document sent as text is one unmarked page, cut as before")
    func unmarked() {
        let text = String(repeating: "A sentence of the report. ", count: 400)
        let chunks = Chunker.chunks(DocumentText(pages: [text], showsPages: false), maxBytes: 1000)
        #expect(chunks.map(\.text) == Chunker.split(text, maxBytes: 1000))
        #expect(chunks.allSatisfy { $0.firstPage == 1 && $0.lastPage == 1 })
    }

    @Test("sources name each chunk's pages, without the parts that could not be analysed")
    func sources() {
        let chunks = [
            DocumentChunk(text: "", firstPage: 1, lastPage: 2), DocumentChunk(text: "", firstPage: 3, lastPage: 3),
            DocumentChunk(text: "", firstPage: 3, lastPage: 3),
        ]
        #expect(
            DocumentRunner.sources(chunks, skipping: [1])
                == .array([
                    .object(["chunk": .integer(1), "pages": .array([.integer(1), .integer(2)])]),
                    .object(["chunk": .integer(3), "pages": .array([.integer(3), .integer(3)])]),
                ])
        )
    }
}
