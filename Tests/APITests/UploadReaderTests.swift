import DocumentFixtures
import Foundation
import HTTPTypes
import NIOCore
import Shared
import Testing

@testable import API

/// The multipart submit read as it streams (issue 14), without a server: bodies fed as arrays of
/// reads cut in every way, the file handed on in chunks of at most 1 MiB, and each refusal.
@Suite("UploadReader: a multipart submit read as it streams")
struct UploadReaderTests {
    static let boundary = "----FormBoundary7MA4YWxkTrZu0gW"
    static let contentType = "multipart/form-data; boundary=\(boundary)"
    static let jobJSON = #"{"team_id":"t1","job_type":"summary","model":"fast","instructions":"Summarise."}"#
    static let pdf = PDFFixture.make(pages: ["Page one.", "Page two."])

    /// One part: its header lines and its body.
    struct Part {
        var headers: [String]
        var body: [UInt8]

        static func job(_ json: String = UploadReaderTests.jobJSON) -> Part {
            Part(headers: [#"Content-Disposition: form-data; name="job""#, "Content-Type: application/json"], body: Array(json.utf8))
        }

        static func file(_ bytes: [UInt8], fileName: String = "report.pdf") -> Part {
            Part(
                headers: [#"Content-Disposition: form-data; name="file"; filename="\#(fileName)""#, "Content-Type: application/octet-stream"],
                body: bytes
            )
        }
    }

    static func body(_ parts: [Part], boundary: String = Self.boundary, preamble: String = "", epilogue: String = "", close: Bool = true) -> [UInt8] {
        var bytes = Array(preamble.utf8)
        if !preamble.isEmpty { bytes += Array("\r\n".utf8) }
        for part in parts {
            bytes += Array("--\(boundary)\r\n".utf8)
            for header in part.headers { bytes += Array("\(header)\r\n".utf8) }
            bytes += Array("\r\n".utf8) + part.body + Array("\r\n".utf8)
        }
        if close { bytes += Array("--\(boundary)--\r\n\(epilogue)".utf8) }
        return bytes
    }

    /// `bytes` as reads of the given sizes (the last read takes the rest).
    static func reads(_ bytes: [UInt8], sizes: [Int]) -> [ByteBuffer] {
        var reads: [ByteBuffer] = []
        var rest = bytes[...]
        for size in sizes where !rest.isEmpty {
            reads.append(ByteBuffer(bytes: rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        if !rest.isEmpty { reads.append(ByteBuffer(bytes: rest)) }
        return reads
    }

    struct Result {
        var upload: Upload
        var chunks: [ByteBuffer]
        var file: [UInt8] { chunks.flatMap { Array(buffer: $0) } }
    }

    static func read(
        _ reads: [ByteBuffer],
        contentType: String? = Self.contentType,
        maxFileBytes: Int = 50 << 20
    ) async throws -> Result {
        var chunks: [ByteBuffer] = []
        let upload = try await UploadReader(maxFileBytes: maxFileBytes).read(contentType: contentType, body: Reads(reads)) { chunk in
            chunks.append(chunk)
        }
        return Result(upload: upload, chunks: chunks)
    }

    static func read(_ bytes: [UInt8], contentType: String? = Self.contentType, maxFileBytes: Int = 50 << 20) async throws -> Result {
        try await read([ByteBuffer(bytes: bytes)], contentType: contentType, maxFileBytes: maxFileBytes)
    }

    /// The refusal reading `bytes` meets.
    static func refusal(_ bytes: [UInt8], contentType: String? = Self.contentType, maxFileBytes: Int = 50 << 20) async -> APIError? {
        do {
            _ = try await read(bytes, contentType: contentType, maxFileBytes: maxFileBytes)
            return nil
        } catch {
            return error as? APIError
        }
    }

    // MARK: - Reading

    @Test("both fields in either order: the job JSON as sent, the file handed on whole, its size, hash, kind and name")
    func bothOrders() async throws {
        let fileFirst = try await Self.read(Self.body([.file(Self.pdf), .job()]))
        let jobFirst = try await Self.read(Self.body([.job(), .file(Self.pdf)]))
        for result in [fileFirst, jobFirst] {
            #expect(String(buffer: result.upload.job) == Self.jobJSON)
            #expect(result.file == Self.pdf)
            #expect(result.upload.byteSize == Self.pdf.count)
            #expect(result.upload.kind == .pdf)
            #expect(result.upload.fileName == "report.pdf")
            #expect(result.upload.sha256.count == 32)
        }
        #expect(fileFirst.upload == jobFirst.upload)
        #expect(
            fileFirst.upload.storedDocument
                == StoredDocument(kind: .pdf, byteSize: Self.pdf.count, sha256: fileFirst.upload.sha256, fileName: "report.pdf")
        )
    }

    @Test("SHA-256 of the file's bytes")
    func sha256() async throws {
        let result = try await Self.read(Self.body([.job(), .file(Array("abc".utf8), fileName: "abc.txt")]))
        let hex = result.upload.sha256.map { String(format: "%02x", $0) }.joined()
        #expect(hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(result.upload.kind == .text)
    }

    @Test("the same upload whether the body comes in one read, a byte at a time, or cut at random")
    func readsCutAnyWay() async throws {
        // A file full of look-alikes of its delimiter: CRs, CRLF--, the boundary less its last character.
        let tricky = Array("line\r\n--\(Self.boundary.dropLast())X\r\r\n-\r\n--\r".utf8) + Self.pdf + [0x0D]
        let bytes = Self.body([.job(), .file(tricky, fileName: "tricky.pdf")], preamble: "This is the preamble.", epilogue: "and an epilogue")
        let whole = try await Self.read(bytes)
        #expect(whole.file == tricky)
        #expect(whole.upload.kind == .pdf)
        let byteAtATime = try await Self.read(Self.reads(bytes, sizes: Array(repeating: 1, count: bytes.count)))
        #expect(byteAtATime.upload == whole.upload)
        #expect(byteAtATime.file == tricky)
        var generator = SplitMix64(seed: 14)
        for _ in 0..<50 {
            let sizes = (0..<200).map { _ in Int.random(in: 1...97, using: &generator) }
            let cut = try await Self.read(Self.reads(bytes, sizes: sizes))
            #expect(cut.upload == whole.upload)
            #expect(cut.file == tricky)
        }
    }

    @Test("the body cut in two at every position, the delimiters' among them")
    func everySplit() async throws {
        let bytes = Self.body([.file(Array("# Notes\n\n- one\n- two\r\n".utf8), fileName: "notes.md"), .job()])
        let whole = try await Self.read(bytes)
        #expect(whole.upload.kind == .markdown)
        for split in 1..<bytes.count {
            let cut = try await Self.read(Self.reads(bytes, sizes: [split]))
            #expect(cut.upload == whole.upload, "split at \(split)")
            #expect(cut.file == whole.file, "split at \(split)")
        }
    }

    @Test("a 3 MiB file is handed on in three 1 MiB chunks; a little more makes a short last one")
    func chunkSizes() async throws {
        let line = "All work and no play makes a long plain text.\n"
        let text = Array(String(repeating: line, count: (3 << 20) / line.utf8.count + 1).utf8.prefix(3 << 20))
        let exact = try await Self.read(
            Self.reads(Self.body([.job(), .file(text, fileName: "long.txt")]), sizes: Array(repeating: 65_536, count: 100))
        )
        #expect(exact.chunks.map(\.readableBytes) == [1 << 20, 1 << 20, 1 << 20])
        #expect(exact.file == text)
        #expect(exact.upload.byteSize == 3 << 20)
        let more = text + Array("12345".utf8)
        let odd = try await Self.read(
            Self.reads(Self.body([.file(more, fileName: "long.txt"), .job()]), sizes: Array(repeating: 10_000, count: 400))
        )
        #expect(odd.chunks.map(\.readableBytes) == [1 << 20, 1 << 20, 1 << 20, 5])
        #expect(odd.file == more)
        let small = try await Self.read(Self.body([.job(), .file(Self.pdf)]))
        #expect(small.chunks.map(\.readableBytes) == [Self.pdf.count])
    }

    @Test("parts with other headers, a quoted boundary, transport padding, a part header in any case")
    func headerVariants() async throws {
        let boundary = "a b'(c)+_,-./:=?"
        let contentType = #"Multipart/Form-Data; charset=utf-8; boundary="\#(boundary)""#
        var bytes = Array("--\(boundary) \t\r\n".utf8)
        bytes += Array("content-disposition: form-data; name=file; filename=\"a.html\"\r\nX-Extra: 1\r\n\r\n<html><p>hi</p></html>\r\n".utf8)
        bytes += Array("--\(boundary)\r\nCONTENT-DISPOSITION:form-data;name=\"job\"\r\n\r\n{}\r\n--\(boundary)--".utf8)
        let result = try await Self.read(bytes, contentType: contentType)
        #expect(result.upload.kind == .html)
        #expect(result.upload.fileName == "a.html")
        #expect(String(buffer: result.upload.job) == "{}")
    }

    @Test("the file's name made safe: control characters gone, at most 255 bytes, no path, RFC 5987 decoded")
    func hostileFileName() async throws {
        let long = String(repeating: "ü\u{01}\u{7F}\u{202E}x", count: 1_250)  // 10 KB of it
        let hostile = try await Self.read(Self.body([.job(), .file(Self.pdf, fileName: "evil\u{0B}\u{85}" + long + ".pdf")]))
        let name = try #require(hostile.upload.fileName)
        #expect(name.utf8.count <= 255)
        #expect(name.hasPrefix("evilüx"))
        #expect(!name.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{202E}" })
        let cases: [(String, String?)] = [
            (#"filename="../../etc/passwd""#, "passwd"),
            (#"filename="C:\Users\me\report.pdf""#, "report.pdf"),
            (#"filename="say \"hi\".pdf""#, #"say "hi".pdf"#),
            (#"filename="plain.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"#, "résumé.pdf"),
            (#"filename="\#u{01}\#u{02}""#, nil),
            ("filename=bare.pdf", "bare.pdf"),
            ("", nil),
        ]
        for (parameter, expected) in cases {
            let part = Part(headers: ["Content-Disposition: form-data; name=\"file\"; \(parameter)"], body: Self.pdf)
            let result = try await Self.read(Self.body([part, .job()]))
            #expect(result.upload.fileName == expected, "\(parameter)")
        }
        // A file name that is not UTF-8 keeps what it can, rather than losing the part's name.
        var bytes = Array("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"caf".utf8)
        bytes += [0xE9] + Array(".pdf\"\r\n\r\n".utf8) + Self.pdf + Array("\r\n".utf8)
        bytes += Self.body([.job()])
        let latin1 = try await Self.read(bytes)
        #expect(latin1.upload.fileName == "caf\u{FFFD}.pdf")
    }

    @Test("the epilogue is not read: reading stops at the close delimiter")
    func stopsAtClose() async throws {
        let bytes = Self.body([.job(), .file(Self.pdf)])
        let source = CountingSource(reads: Self.reads(bytes, sizes: [100, 100]), then: 1_000)
        let upload = try await UploadReader(maxFileBytes: 1 << 20).read(contentType: Self.contentType, body: source) { _ in }
        #expect(upload.kind == .pdf)
        #expect(source.counter.reads <= 3)
    }

    // MARK: - Limits

    @Test("past the file limit: 413 after one read too many, not the rest of the body")
    func fileLimit() async throws {
        let limit = 1 << 20
        let atLimit = Array(String(repeating: "x", count: limit).utf8)
        let fits = try await Self.read(Self.body([.job(), .file(atLimit, fileName: "x.txt")]), maxFileBytes: limit)
        #expect(fits.upload.byteSize == limit)
        let over = await Self.refusal(Self.body([.job(), .file(atLimit + [0x78], fileName: "x.txt")]), maxFileBytes: limit)
        #expect(over == .payloadTooLarge(limit: limit))
        #expect(over?.detail == "Request body is larger than the limit of 1048576 bytes")

        // 64 MiB offered in 64 KiB reads: refused after about 1 MiB of them.
        let head = Array("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n".utf8)
        let source = CountingSource(reads: [ByteBuffer(bytes: head)], then: 1_024, readSize: 65_536, fill: 0x61)
        var handedOn = 0
        await #expect(throws: APIError.payloadTooLarge(limit: limit)) {
            _ = try await UploadReader(maxFileBytes: limit).read(contentType: Self.contentType, body: source) { chunk in
                handedOn += chunk.readableBytes
            }
        }
        #expect(source.counter.reads <= 2 + limit / 65_536)
        #expect(handedOn <= limit)
    }

    @Test("a job part past 1 MiB: 413")
    func jobLimit() async {
        let json = "{\"instructions\":\"" + String(repeating: "a", count: 1 << 20) + "\"}"
        let refusal = await Self.refusal(Self.body([.job(json), .file(Self.pdf)]))
        #expect(refusal == .payloadTooLarge(limit: 1 << 20))
    }

    // MARK: - Refusals

    @Test("415 for a file of another type: a PNG at once, an xlsx at the end")
    func unsupportedTypes() async throws {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0x90, count: 3 << 20)
        var handedOn = 0
        await #expect(throws: APIError.unsupportedDocumentType) {
            _ = try await UploadReader(maxFileBytes: 50 << 20).read(
                contentType: Self.contentType,
                body: Reads(Self.reads(Self.body([.job(), .file(png, fileName: "photo.pdf")]), sizes: Array(repeating: 65_536, count: 60)))
            ) { chunk in
                handedOn += chunk.readableBytes
            }
        }
        #expect(handedOn == 0, "refused from its first bytes, before a chunk was stored")
        #expect(APIError.unsupportedDocumentType.status.code == 415)
        #expect(APIError.unsupportedDocumentType.detail == "Unsupported document type")

        let xlsx = ZipFixture.make([.stored("[Content_Types].xml", text: "<Types/>"), .stored("xl/workbook.xml", text: "<workbook/>")])
        #expect(await Self.refusal(Self.body([.job(), .file(xlsx, fileName: "book.docx")])) == .unsupportedDocumentType)
        let docx = try await Self.read(Self.body([.job(), .file(DOCXFixture.make(paragraphs: ["Hi"]), fileName: "x.bin")]))
        #expect(docx.upload.kind == .docx)
    }

    @Test("400: no usable boundary in the Content-Type")
    func contentTypes() async {
        let bytes = Self.body([.job(), .file(Self.pdf)])
        for contentType in [
            nil, "application/json", "multipart/form-data", "multipart/form-data; boundary=", #"multipart/form-data; boundary="""#,
            "multipart/mixed; boundary=\(Self.boundary)", "multipart/form-data; boundary=\(String(repeating: "b", count: 71))",
            "multipart/form-data; boundary=\"trailing \"", "multipart/form-data; boundary=\"tab\there\"", "multipart/form-data; boundary=ü",
        ] {
            #expect(await Self.refusal(bytes, contentType: contentType) == .multipartContentTypeInvalid, "\(contentType ?? "nil")")
        }
        #expect(APIError.multipartContentTypeInvalid.status.code == 400)
        let seventy = String(repeating: "b", count: 70)
        #expect(
            await Self.refusal(Self.body([.job(), .file(Self.pdf)], boundary: seventy), contentType: "multipart/form-data; boundary=\(seventy)")
                == nil
        )
        #expect(UploadReader.isMultipartFormData("Multipart/Form-Data ; boundary=x"))
        #expect(!UploadReader.isMultipartFormData("application/json"))
        #expect(!UploadReader.isMultipartFormData(nil))
    }

    @Test("400: a body that is not multipart, bad header lines, a header block past 16 KiB")
    func malformed() async {
        #expect(await Self.refusal(Array(#"{"team_id":"t1"}"#.utf8)) == .multipartMalformed)
        #expect(await Self.refusal([]) == .multipartMalformed)
        #expect(await Self.refusal(Array(String(repeating: "preamble ", count: 3_000).utf8)) == .multipartMalformed)
        let noColon = Part(headers: ["Content-Disposition form-data"], body: Self.pdf)
        #expect(await Self.refusal(Self.body([noColon, .job()])) == .multipartMalformed)
        // A byte past ASCII in a header name (MultipartKit 4.7.1 traps on it).
        let highByte = [UInt8]("--\(Self.boundary)\r\n".utf8) + [0xC3, 0xA9] + Array(": x\r\n\r\nbody\r\n--\(Self.boundary)--".utf8)
        #expect(await Self.refusal(highByte) == .multipartMalformed)
        let afterBoundary = Array("--\(Self.boundary)X\r\n\r\nbody".utf8)
        #expect(await Self.refusal(afterBoundary) == .multipartMalformed)
        let huge = Part(
            headers: [#"Content-Disposition: form-data; name="file""#, "X-Padding: " + String(repeating: "p", count: 16 << 10)],
            body: Self.pdf
        )
        #expect(await Self.refusal(Self.body([huge, .job()])) == .multipartHeadersTooLarge(limit: 16 << 10))
        #expect(APIError.multipartMalformed.detail == "Request body is not valid multipart/form-data")
    }

    @Test("400: a body ending inside a part, between parts or before the close")
    func truncated() async {
        let whole = Self.body([.job(), .file(Self.pdf)])
        let cuts = [
            Array(whole.prefix(whole.count / 2)),  // in the file's bytes
            Self.body([.job()], close: false),  // after a part, no close delimiter
            Self.body([.job()], close: false) + Array("--\(Self.boundary)\r\n".utf8),  // after a delimiter line
            Self.body([.job()], close: false) + Array("--\(Self.boundary)\r\nContent-Disposition: form-da".utf8),  // in headers
            Array(whole.dropLast(3)),  // in the close delimiter
        ]
        for (index, bytes) in cuts.enumerated() {
            #expect(await Self.refusal(bytes) == .multipartTruncated, "cut \(index)")
        }
        #expect(APIError.multipartTruncated.status.code == 400)
    }

    @Test("422: a part without a name, with an unknown name, a field twice, a field missing, an empty file")
    func fields() async {
        let noDisposition = Part(headers: ["Content-Type: text/plain"], body: Self.pdf)
        #expect(await Self.refusal(Self.body([noDisposition, .job()])) == .partWithoutName)
        let emptyName = Part(headers: [#"Content-Disposition: form-data; name="""#], body: Self.pdf)
        #expect(await Self.refusal(Self.body([emptyName, .job()])) == .partWithoutName)
        let extra = Part(headers: [#"Content-Disposition: form-data; name="document""#], body: Array("text".utf8))
        let unknown = await Self.refusal(Self.body([.job(), extra, .file(Self.pdf)]))
        #expect(unknown?.detail == "Unknown field 'document': a multipart submit has the fields 'job' and 'file'")
        #expect(unknown?.status.code == 422)
        let hostileName = Part(headers: ["Content-Disposition: form-data; name=\"\u{1B}[31m" + String(repeating: "n", count: 5_000) + "\""], body: [])
        let shown = await Self.refusal(Self.body([hostileName]))?.detail ?? ""
        #expect(shown.count < 200 && !shown.contains("\u{1B}"))
        #expect(await Self.refusal(Self.body([.job(), .file(Self.pdf), .file(Self.pdf)])) == .partTwice("file"))
        #expect(await Self.refusal(Self.body([.job(), .job(), .file(Self.pdf)]))?.detail == "Field 'job' must be sent once")
        let noFile = await Self.refusal(Self.body([.job()]))
        #expect(noFile?.detail == "Field 'file' is required")
        #expect(await Self.refusal(Self.body([.file(Self.pdf)]))?.detail == "Field 'job' is required")
        #expect(await Self.refusal(Self.body([])) == .fieldRequired("file"), "a closed body without parts")
        #expect(await Self.refusal(Self.body([.job(), .file([])]))?.detail == "Field 'file' must not be empty")
    }

    @Test("a job part before the file is shown to the caller first: its refusal ends the read before a byte of the file is handed on")
    func jobCheckedFirst() async throws {
        struct BadJob: Error {}
        let big = Array(String(repeating: "words ", count: 400_000).utf8)
        await #expect(throws: BadJob.self) {
            _ = try await UploadReader(maxFileBytes: 50 << 20).read(
                contentType: Self.contentType,
                body: Reads(Self.reads(Self.body([.job(), .file(big)]), sizes: Array(repeating: 4096, count: 1000))),
                onJob: { job in
                    #expect(String(buffer: job) == Self.jobJSON)
                    throw BadJob()
                },
                onChunk: { _ in Issue.record("a chunk of the file was handed on after the job part was refused") }
            )
        }
        // After the file, the job part is only returned: the caller checks the whole submit then.
        var seen = 0
        let result = try await UploadReader(maxFileBytes: 50 << 20).read(
            contentType: Self.contentType,
            body: Reads([ByteBuffer(bytes: Self.body([.file(Self.pdf), .job()]))]),
            onJob: { _ in seen += 1 },
            onChunk: { _ in }
        )
        #expect(seen == 0 && String(buffer: result.job) == Self.jobJSON)
    }

    @Test("a store that fails stops the read with its own error")
    func storeFailure() async {
        struct StoreDown: Error {}
        let big = Array(String(repeating: "words ", count: 400_000).utf8)
        await #expect(throws: StoreDown.self) {
            _ = try await UploadReader(maxFileBytes: 50 << 20).read(
                contentType: Self.contentType,
                body: Reads([ByteBuffer(bytes: Self.body([.job(), .file(big)]))])
            ) { _ in
                throw StoreDown()
            }
        }
    }
}

/// Reads given up front, as an `AsyncSequence`.
private struct Reads: AsyncSequence {
    var reads: [ByteBuffer]

    init(_ reads: [ByteBuffer]) { self.reads = reads }

    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: ArraySlice<ByteBuffer>
        mutating func next() async -> ByteBuffer? { rest.popFirst() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: reads[...]) }
}

/// Given reads, then `then` more of `readSize` bytes made on demand, counting what was read.
private struct CountingSource: AsyncSequence {
    final class Counter { var reads = 0 }

    var reads: [ByteBuffer]
    var then: Int
    var readSize = 16
    var fill: UInt8 = 0x2E
    let counter = Counter()

    struct AsyncIterator: AsyncIteratorProtocol {
        var source: CountingSource
        var index = 0

        mutating func next() async -> ByteBuffer? {
            defer { index += 1 }
            guard index < source.reads.count + source.then else { return nil }
            source.counter.reads += 1
            if index < source.reads.count { return source.reads[index] }
            return ByteBuffer(repeating: source.fill, count: source.readSize)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }
}
