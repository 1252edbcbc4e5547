import DocumentFixtures
import Foundation
import HTTPTypes
import HummingbirdTesting
import Postgres
import Shared
import Testing

extension EndToEnd {
    /// Documents as uploaded files (issue 14), as a team sees them: a multipart submit, the text
    /// extracted on a real worker by the real `pdftotext` and `pandoc` (or by scripts standing in
    /// for them), page provenance in the result, the text read back, the contents erased, and
    /// the money — reserved from the file's size, moved to the text's estimate after extraction,
    /// released whenever a document is refused.
    @Suite("Uploads: documents as files, extracted on the workers")
    struct UploadTests {
        /// Settings that let a small model context split a few pages into several chunks (the
        /// default refuses chunks under 1,000 tokens), for the API and the workers alike.
        static let smallChunks = ["DOCUMENT_MIN_CHUNK_TOKENS": "100"]

        /// `result.sources` as `(chunk, from, to)`.
        static func sources(_ job: [String: Any]) -> [(chunk: Int, from: Int, to: Int)] {
            let sources = ((job["result"] as? [String: Any])?["sources"] as? [[String: Any]]) ?? []
            return sources.map { source in
                let pages = source["pages"] as? [Int] ?? []
                return (source["chunk"] as? Int ?? 0, pages.first ?? 0, pages.last ?? 0)
            }
        }

        @Test("a 3-page PDF: reserved from its size, moved down to its text after extraction, sources and pages read back")
        func pdfUpload() async throws {
            try await UploadStack.run("upload-pdf") { stack, _ in
                let client = stack.client
                let allocated = 100_000
                let team = try await Fixture.team(
                    client,
                    mock: stack.mock,
                    credits: allocated,
                    budgetMode: "consumption_tokens",
                    extraTeamFields: #","tokens_per_credit":10"#,
                    contextTokens: 16000
                )
                let words = ["Alpha", "Bravo", "Charlie"]
                let pdf = PDFFixture.make(
                    pages: words.enumerated().map { "\($0.element) opens page \($0.offset + 1).\n" + UploadDocuments.page($0.offset + 1, lines: 3) }
                )
                let (jobID, reserved) = try await Upload.accepted(client, team, pdf, fileName: "report.pdf")

                // At submit the file's size bounds its text: a token per 4 bytes, one call; the
                // instructions count what the worker adds to them (the request for page references).
                let instructions = JobWork(
                    instructions: "List the key figures and risks.",
                    upload: DocumentUpload(kind: .pdf, byteSize: 1, fileName: nil)
                )
                .documentInstructionTokens
                let fileTokens = (pdf.count + 3) / 4
                let plan = DocumentPlan(documentTokens: fileTokens, instructionTokens: instructions, contextTokens: 16000, maxTokens: 200)
                let bound = plan.maxTokens(instructionTokens: instructions, maxTokens: 200, documentTokens: fileTokens)
                #expect(reserved == max(1, (bound.prompt + bound.completion) / 10), "the reservation is not the file size's estimate")

                let job = try await Upload.finish(stack, team, jobID)
                #expect(job["status"] as? String == "completed", "\(job["error"] ?? "")")
                let sources = Self.sources(job)
                #expect(sources.count == 1)
                #expect(sources.first.map { [$0.chunk, $0.from, $0.to] } == [1, 1, 3], "sources: \(sources)")

                let (status, document) = try await Fixture.get(client, team, "/api/jobs/\(jobID)/document")
                #expect(status == .ok)
                #expect(document["job_id"] as? String == jobID)
                #expect(document["kind"] as? String == "pdf")
                #expect(document["media_type"] as? String == "application/pdf")
                #expect(document["file_name"] as? String == "report.pdf")
                #expect(document["byte_size"] as? Int == pdf.count)
                #expect(document["page_count"] as? Int == 3)
                #expect((document["extraction_ms"] as? Int ?? -1) >= 0)
                #expect(document["extracted_at"] is String)
                let sha = try await stack.postgres.query(
                    "SELECT encode(sha256, 'hex') AS h FROM documents WHERE document_id = $1::uuid",
                    [.text(jobID)]
                )
                #expect(document["sha256"] as? String == (try sha.first?.decode("h", as: String.self)))
                let pages = document["pages"] as? [[String: Any]] ?? []
                #expect(pages.map { $0["page"] as? Int } == [1, 2, 3])
                for (index, word) in words.enumerated() where index < pages.count {
                    let text = pages[index]["text"] as? String ?? ""
                    #expect(text.contains(word) && text.contains("figure \(index + 1)-3"), "page \(index + 1): \(text)")
                    #expect(words.filter { text.contains($0) } == [word], "page \(index + 1) holds another page's text")
                }

                // The money: the text's estimate is below the file's. At extraction the file's
                // reservation is released whole and a new one taken for the text (a reservation is
                // reserved and released once); the charge is within it; the balance adds up.
                let reservedAfter = try #require(job["credits_reserved"] as? Int)
                let charged = try #require(job["credits_charged"] as? Int)
                #expect(reservedAfter < reserved, "the reservation was not moved to the extracted text")
                #expect(charged >= 1 && charged <= reservedAfter)
                let usage = try #require(job["usage"] as? [String: Any])
                #expect(charged == min(max(1, (usage["total_tokens"] as? Int ?? 0) / 10), reservedAfter))
                let ledger = try await Upload.ledger(stack.postgres, jobID)
                #expect(ledger.map(\.type) == ["reservation", "release", "reservation", "release", "charge"], "ledger: \(ledger)")
                #expect(ledger.map(\.amount) == [-reserved, reserved, -reservedAfter, reservedAfter, -charged], "ledger: \(ledger)")
                #expect(ledger.reduce(0) { $0 + $1.amount } == -charged, "the job's ledger rows do not add up to its charge: \(ledger)")
                let balance = try await Upload.balance(client, team)
                #expect(balance["credits_reserved"] as? Int == 0)
                #expect(balance["credits_used"] as? Int == charged)
                #expect(balance["credits_remaining"] as? Int == allocated - charged)
            }
        }

        @Test("a DOCX whose text outgrows its file: the reservation is topped up after extraction, the charge within it")
        func reservationTopUp() async throws {
            try await UploadStack.run("upload-top-up") { stack, _ in
                let client = stack.client
                let allocated = 100_000
                let team = try await Fixture.team(
                    client,
                    mock: stack.mock,
                    credits: allocated,
                    budgetMode: "consumption_tokens",
                    extraTeamFields: #","tokens_per_credit":100"#
                )
                // 200 KB of text from a file of about 1.5 KB (honest headers, under the ratio floor).
                let docx = DOCXFixture.lyingZipBomb(expandingTo: 200_000, declaredSize: 200_000)
                let (jobID, reserved) = try await Upload.accepted(client, team, docx, fileName: "dense.docx")
                let job = try await Upload.finish(stack, team, jobID)
                #expect(job["status"] as? String == "completed", "\(job["error"] ?? "")")
                let reservedAfter = try #require(job["credits_reserved"] as? Int)
                let charged = try #require(job["credits_charged"] as? Int)
                #expect(reservedAfter > reserved, "the reservation was not topped up to the text's estimate")
                #expect(charged >= 1 && charged <= reservedAfter)
                let ledger = try await Upload.ledger(stack.postgres, jobID)
                #expect(ledger.filter { $0.type == "reservation" }.map(\.amount) == [-reserved, -reservedAfter], "ledger: \(ledger)")
                #expect(ledger.filter { $0.type == "release" }.map(\.amount) == [reserved, reservedAfter], "ledger: \(ledger)")
                #expect(ledger.reduce(0) { $0 + $1.amount } == -charged, "ledger: \(ledger)")
                let balance = try await Upload.balance(client, team)
                #expect(balance["credits_reserved"] as? Int == 0)
                #expect(balance["credits_remaining"] as? Int == allocated - charged)
            }
        }

        @Test("a text that outgrows its file past the balance: the job fails, nothing stays reserved, nothing is charged")
        func topUpRefused() async throws {
            try await UploadStack.run("upload-top-up-refused") { stack, _ in
                let client = stack.client
                let allocated = 100
                let team = try await Fixture.team(
                    client,
                    mock: stack.mock,
                    credits: allocated,
                    budgetMode: "consumption_tokens",
                    extraTeamFields: #","tokens_per_credit":100"#
                )
                // The file reserves about 10 credits; its 200 KB of text would need hundreds.
                let docx = DOCXFixture.lyingZipBomb(expandingTo: 200_000, declaredSize: 200_000)
                let (jobID, reserved) = try await Upload.accepted(client, team, docx, fileName: "dense.docx")
                #expect(reserved < allocated)
                let job = try await Upload.finish(stack, team, jobID)
                #expect(job["status"] as? String == "failed")
                let error = job["error"] as? [String: Any]
                #expect(error?["code"] as? String == "invalid_request")
                #expect((error?["message"] as? String ?? "").hasPrefix("Insufficient credits for the document's text"), "\(error ?? [:])")
                #expect(job["credits_charged"] as? Int == 0)
                let ledger = try await Upload.ledger(stack.postgres, jobID)
                #expect(ledger.map(\.type) == ["reservation", "release"], "the file's reservation only, released: \(ledger)")
                let balance = try await Upload.balance(client, team)
                #expect(balance["credits_reserved"] as? Int == 0)
                #expect(balance["credits_remaining"] as? Int == allocated)
            }
        }

        @Test("pages packed into chunks: several map calls, no chunk across a page that fits, a page too big split on its own")
        func pageAwareChunks() async throws {
            try await UploadStack.run("upload-chunks", worker: Self.smallChunks, api: Self.smallChunks) { stack, _ in
                let client = stack.client
                let team = try await Fixture.team(client, mock: stack.mock, credits: 100, contextTokens: 800)
                // A chunk holds about 1,980 bytes (800 tokens less 100 for the answer, 5 for the
                // instructions and 200 of framing): two 14-line pages (~810 bytes each) fit,
                // three do not; page 5 (44 lines, ~2,550 bytes) fits no chunk of its own.
                let lines = [14, 14, 14, 14, 44, 14, 14]
                let pdf = PDFFixture.make(pages: lines.enumerated().map { UploadDocuments.page($0.offset + 1, lines: $0.element) })
                let (jobID, _) = try await Upload.accepted(
                    client,
                    team,
                    pdf,
                    fileName: "long.pdf",
                    ["max_tokens": 100, "instructions": "Note the figures."]
                )
                let job = try await Fixture.waitForTerminal(client, team, jobID)
                #expect(job["status"] as? String == "completed", "\(job["error"] ?? "")")

                let sources = Self.sources(job)
                let calls = try await Upload.calls(client, team, jobID)
                let mapCalls = Set(calls.filter { $0["step"] as? String == "chunk" && $0["error"] == nil }.compactMap { $0["step_index"] as? Int })
                #expect(sources.count >= 5, "sources: \(sources)")
                #expect(mapCalls.count == sources.count, "one map call per chunk: \(mapCalls.count) calls, \(sources.count) sources")
                #expect(sources.map(\.chunk) == Array(1...max(1, sources.count)))
                for (previous, next) in zip(sources, sources.dropFirst()) {
                    #expect(next.from >= previous.to, "chunks out of page order: \(sources)")
                }
                #expect(sources.allSatisfy { 1 <= $0.from && $0.from <= $0.to && $0.to <= 7 }, "sources: \(sources)")
                for page in [1, 2, 3, 4, 6, 7] {
                    let holding = sources.filter { ($0.from...$0.to).contains(page) }
                    #expect(holding.count == 1, "page \(page) fits a chunk, yet is in \(holding.count) chunks: \(sources)")
                }
                let big = sources.filter { ($0.from...$0.to).contains(5) }
                #expect(big.count >= 2 && big.allSatisfy { $0.from == 5 && $0.to == 5 }, "page 5 split across its own chunks: \(sources)")
                #expect(sources.contains { $0.from < $0.to }, "small pages were not packed together: \(sources)")

                let (status, document) = try await Fixture.get(client, team, "/api/jobs/\(jobID)/document")
                #expect(status == .ok)
                #expect(document["page_count"] as? Int == 7)
                let pages = document["pages"] as? [[String: Any]] ?? []
                #expect((pages.count == 7 ? pages[4]["text"] as? String : nil)?.contains("figure 5-44") == true)
            }
        }

        @Test("DOCX, ODT, HTML, Markdown and plain text: extracted, completed, their words read back")
        func otherKinds() async throws {
            try await UploadStack.run("upload-kinds") { stack, _ in
                let client = stack.client
                let team = try await Fixture.team(client, mock: stack.mock, credits: 100)
                let documents: [(name: String, kind: String, bytes: [UInt8], words: [String])] = [
                    (
                        "notes.docx", "docx",
                        DOCXFixture.make(paragraphs: ["Orchard harvest doubled this year.", "Vineyard output fell by a third."]),
                        ["Orchard harvest", "Vineyard output"]
                    ),
                    (
                        "notes.odt", "odt", ODTFixture.make(paragraphs: ["Glacier survey finished in March.", "Tundra samples were sent north."]),
                        ["Glacier survey", "Tundra samples"]
                    ),
                    ("page.html", "html", UploadDocuments.html, ["Quarterly report", "harbour expansion in Rotterdam"]),
                    ("notes.md", "markdown", UploadDocuments.markdown, ["Lighthouse repairs", "fjord survey"]),
                    ("notes.txt", "text", UploadDocuments.text, ["zeppelin hangar", "quokka sightings"]),
                ]
                var jobIDs: [String] = []
                for document in documents {
                    jobIDs.append(try await Upload.accepted(client, team, document.bytes, fileName: document.name).jobID)
                }
                for (document, jobID) in zip(documents, jobIDs) {
                    let job = try await Fixture.waitForTerminal(client, team, jobID)
                    #expect(job["status"] as? String == "completed", "\(document.name): \(job["error"] ?? "")")
                    #expect(Self.sources(job).map { [$0.chunk, $0.from, $0.to] } == [[1, 1, 1]], "\(document.name)")
                    let (status, read) = try await Fixture.get(client, team, "/api/jobs/\(jobID)/document")
                    #expect(status == .ok, "\(document.name)")
                    #expect(read["kind"] as? String == document.kind)
                    #expect(read["file_name"] as? String == document.name)
                    #expect(read["byte_size"] as? Int == document.bytes.count)
                    let text = Upload.documentText(read)
                    for word in document.words {
                        #expect(text.contains(word), "\(document.name): '\(word)' is not in its text: \(text)")
                    }
                    #expect(!text.contains("<p>") && !text.contains("<w:t"), "\(document.name): markup in the text")
                }
                #expect(try await Upload.balance(client, team)["credits_used"] as? Int == documents.count)
            }
        }

        @Test("refused uploads change nothing: 415, 413, 422 (job part missing, document inside it), 403 (team, model group), 402")
        func refusals() async throws {
            try await UploadStack.run("upload-refused", worker: nil) { stack, _ in
                let client = stack.client
                let team = try await Fixture.team(
                    client,
                    mock: stack.mock,
                    credits: 1000,
                    budgetMode: "consumption_tokens",
                    extraTeamFields: #","tokens_per_credit":1"#
                )
                let other = try await Fixture.team(client, mock: stack.mock, credits: 1000)
                let pdf = PDFFixture.make(pages: ["A page that is never stored."])
                let job = try Upload.jobJSON(team)

                var (status, body) = try await Upload.submit(client, team, job: job, file: UploadDocuments.png, fileName: "photo.pdf")
                #expect(status == .unsupportedMediaType)
                #expect(body["detail"] as? String == "Unsupported document type")

                (status, body) = try await Upload.submit(client, team, job: nil, file: pdf, fileName: "a.pdf")
                #expect(status == .unprocessableContent)
                #expect(body["detail"] as? String == "Field 'job' is required")

                (status, body) = try await Upload.submit(client, team, job: try Upload.jobJSON(team, ["document": "Inline text."]), file: pdf)
                #expect(status == .unprocessableContent)
                #expect(body["detail"] as? String == "Field 'document' cannot be sent with a file")

                (status, body) = try await Upload.submit(client, team, job: try Upload.jobJSON(team, ["team_id": other.teamID]), file: pdf)
                #expect(status == .forbidden)
                #expect(body["detail"] as? String == "API key does not belong to team '\(other.teamID)'")

                (status, body) = try await Upload.submit(client, team, job: try Upload.jobJSON(team, ["model": other.group]), file: pdf)
                #expect(status == .forbidden)
                #expect(body["detail"] as? String == "Team does not have access to model group '\(other.group)'")

                // About 10,000 tokens from the size of the file, at one token a credit.
                let large = Array(String(repeating: "Plain words about the budget and the harbour.\n", count: 850).utf8)
                (status, body) = try await Upload.submit(client, team, job: job, file: large, fileName: "large.txt")
                #expect(status.code == 402)
                #expect((body["detail"] as? String)?.hasPrefix("Insufficient credits: 1000 remaining, ") == true, "\(body)")

                try await Self.expectUntouched(stack, client, team, allocated: 1000)
                try await Self.expectUntouched(stack, client, other, allocated: 1000)
            }
            // Past MAX_DOCUMENT_BYTES (here 64 KiB): 413, nothing kept.
            try await UploadStack.run("upload-too-large", worker: nil, api: ["MAX_DOCUMENT_BYTES": "65536"]) { stack, _ in
                let client = stack.client
                let team = try await Fixture.team(client, mock: stack.mock, credits: 1000)
                let file = Array(String(repeating: "A line of a document that is too long to upload here.\n", count: 2000).utf8)
                let (status, body) = try await Upload.submit(client, team, job: try Upload.jobJSON(team), file: file, fileName: "long.txt")
                #expect(status == .contentTooLarge)
                #expect(body["detail"] as? String == "Request body is larger than the limit of 65536 bytes")
                try await Self.expectUntouched(stack, client, team, allocated: 1000)
            }
        }

        /// A refused upload leaves no job, no stored document and the balance as allocated.
        static func expectUntouched(
            _ stack: UploadStack,
            _ client: any TestClientProtocol,
            _ team: TestTeam,
            allocated: Int,
            sourceLocation: SourceLocation = #_sourceLocation
        ) async throws {
            let binds: [PostgresBind] = [.text(team.teamID)]
            let documents = try await Upload.count(stack.postgres, "SELECT count(*) AS n FROM documents WHERE team_id = $1", binds)
            #expect(documents == 0, "\(documents) documents rows left for \(team.teamID)", sourceLocation: sourceLocation)
            let jobs = try await Upload.count(stack.postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1", binds)
            #expect(jobs == 0, "\(jobs) jobs for \(team.teamID)", sourceLocation: sourceLocation)
            let balance = try await Upload.balance(client, team)
            #expect(balance["credits_remaining"] as? Int == allocated, "\(balance)", sourceLocation: sourceLocation)
            #expect(balance["credits_reserved"] as? Int == 0, "\(balance)", sourceLocation: sourceLocation)
        }

        /// Waits for a job the document refused: `failed`, `invalid_request`, `message`, nothing charged.
        static func expectRefused(
            _ client: any TestClientProtocol,
            _ team: TestTeam,
            _ jobID: String,
            _ message: (String) -> Bool,
            sourceLocation: SourceLocation = #_sourceLocation
        ) async throws {
            let job = try await Fixture.waitForTerminal(client, team, jobID)
            let error = job["error"] as? [String: Any]
            #expect(job["status"] as? String == "failed", "\(job)", sourceLocation: sourceLocation)
            #expect(error?["code"] as? String == "invalid_request", "\(job)", sourceLocation: sourceLocation)
            #expect(message(error?["message"] as? String ?? ""), "message: \(error?["message"] ?? "none")", sourceLocation: sourceLocation)
            #expect(job["credits_charged"] as? Int == 0, sourceLocation: sourceLocation)
        }

        @Test("hostile documents: encrypted, truncated, zip bomb, a hanging extractor — each failed cleanly, released, the worker still working")
        func hostileDocuments() async throws {
            try await UploadStack.run("upload-hostile") { stack, worker in
                let client = stack.client
                let team = try await Fixture.team(client, mock: stack.mock, credits: 100)
                let encrypted = try await Upload.accepted(client, team, PDFFixture.encrypted(), fileName: "locked.pdf")
                let truncated = try await Upload.accepted(client, team, PDFFixture.truncated(), fileName: "cut.pdf")
                // 200 MiB of XML from about 1.3 MB: its headers say so, at a ratio of about 160.
                let bomb = try await Upload.accepted(client, team, DOCXFixture.zipBomb(expandingTo: 200 << 20), fileName: "bomb.docx")
                #expect(encrypted.reserved > 0 && truncated.reserved > 0 && bomb.reserved > 0)
                try await Self.expectRefused(client, team, encrypted.jobID) { $0 == "The PDF is encrypted; upload it without a password." }
                try await Self.expectRefused(client, team, truncated.jobID) {
                    $0 == "The PDF could not be read: it is damaged, truncated or not a valid PDF."
                }
                try await Self.expectRefused(client, team, bomb.jobID) { $0.hasPrefix("The DOCX document was refused: ") }
                var balance = try await Upload.balance(client, team)
                #expect(balance["credits_reserved"] as? Int == 0, "reservations of refused documents not released: \(balance)")
                #expect(balance["credits_remaining"] as? Int == 100)
                #expect(worker?.isRunning == true)

                let normal = try await Upload.accepted(
                    client,
                    team,
                    PDFFixture.make(pages: ["A normal page after the hostile ones."]),
                    fileName: "ok.pdf"
                )
                let job = try await Fixture.waitForTerminal(client, team, normal.jobID)
                #expect(job["status"] as? String == "completed", "\(job["error"] ?? "")")
                balance = try await Upload.balance(client, team)
                #expect(balance["credits_reserved"] as? Int == 0)
                #expect(balance["credits_remaining"] as? Int == 99)
            }

            // An extractor that hangs (a script in place of pdftotext whose child sleeps): killed
            // after EXTRACTION_TIMEOUT_SECONDS with its child, and the worker goes on.
            let directory = try Upload.temporaryDirectory("hang")
            defer { try? FileManager.default.removeItem(at: directory) }
            let marker = "59.\(Int.random(in: 100...999))"
            let hang = try Upload.script(directory, "pdftotext", "#!/bin/sh\nsleep \(marker) &\nwait\n")
            let environment = ["PDFTOTEXT_PATH": hang, "EXTRACTION_TIMEOUT_SECONDS": "1"]
            try await UploadStack.run("upload-hang", worker: environment) { stack, worker in
                let client = stack.client
                let team = try await Fixture.team(client, mock: stack.mock, credits: 100)
                let started = ContinuousClock.now
                let hung = try await Upload.accepted(client, team, PDFFixture.make(pages: ["Never read."]), fileName: "slow.pdf")
                try await Self.expectRefused(client, team, hung.jobID) { $0 == "Extracting the document's text took longer than 1 seconds." }
                // Failed at the 1 s timeout, not after the child's 60 s (however loaded the machine).
                #expect(ContinuousClock.now - started < .seconds(45))
                #expect(Upload.processes(containing: "sleep \(marker)").isEmpty, "the hanging extractor's child was left running")
                let balance = try await Upload.balance(client, team)
                #expect(balance["credits_reserved"] as? Int == 0 && balance["credits_remaining"] as? Int == 100, "\(balance)")
                #expect(worker?.isRunning == true)

                let normal = try await Upload.accepted(
                    client,
                    team,
                    DOCXFixture.make(paragraphs: ["A normal document after the hang."]),
                    fileName: "ok.docx"
                )
                let job = try await Fixture.waitForTerminal(client, team, normal.jobID)
                #expect(job["status"] as? String == "completed", "\(job["error"] ?? "")")
            }
            #expect(Upload.processes(containing: "sleep \(marker)").isEmpty)
        }

        @Test("kill -9 of the worker after extraction: the next delivery reads the kept text, pdftotext ran once")
        func killedAfterExtraction() async throws {
            let directory = try Upload.temporaryDirectory("count")
            defer { try? FileManager.default.removeItem(at: directory) }
            let counter = directory.appendingPathComponent("runs").path
            let wrapper = try Upload.script(directory, "pdftotext", "#!/bin/sh\necho run >> '\(counter)'\nexec /usr/bin/pdftotext \"$@\"\n")
            let environment = ["PDFTOTEXT_PATH": wrapper]
            try await UploadStack.run("upload-kill", worker: nil) { stack, _ in
                let client = stack.client
                let team = try await Fixture.team(client, mock: stack.mock, credits: 100)
                try await stack.mock.behave(#"{"latency_ms":4000}"#)
                let doomed = try await ManagedProcess.worker("worker-upload-doomed", environment: environment)
                let pdf = PDFFixture.make(pages: ["First page of the kept text.", "Second page of the kept text."])
                let (jobID, _) = try await Upload.accepted(client, team, pdf, fileName: "kept.pdf")
                // Extracted and kept: the text is readable while the upstream call is in flight.
                try await Upload.waitUntil("the text was never extracted") {
                    try await Fixture.get(client, team, "/api/jobs/\(jobID)/document").0 == .ok
                }
                // A live job's contents cannot be erased.
                let (erase, refusal) = try await Upload.delete(client, team, jobID)
                #expect(erase == .conflict)
                #expect(refusal["detail"] as? String == "Job is in_progress; only a finished job's contents can be erased")
                doomed.kill9()
                await doomed.waitForExit(timeout: .seconds(5))
                try await stack.mock.behave(#"{"latency_ms":0}"#)
                let survivor = try await ManagedProcess.worker("worker-upload-survivor", environment: environment)
                let job: [String: Any]
                do {
                    job = try await Fixture.waitForTerminal(client, team, jobID, timeout: .seconds(40))
                } catch {
                    await survivor.stop()
                    throw error
                }
                await survivor.stop()
                #expect(job["status"] as? String == "completed", "\(job["error"] ?? "")")
                #expect(job["credits_charged"] as? Int == 1)
                let runs = (try? String(contentsOfFile: counter, encoding: .utf8))?.split(separator: "\n").count ?? 0
                #expect(runs == 1, "pdftotext ran \(runs) times")
                let expiries = try await Upload.count(
                    stack.postgres,
                    "SELECT lease_expiries::bigint AS n FROM jobs WHERE job_id = $1::uuid",
                    [.text(jobID)]
                )
                #expect(expiries == 1, "the job was not redelivered after the kill")
                let (status, document) = try await Fixture.get(client, team, "/api/jobs/\(jobID)/document")
                #expect(status == .ok && document["page_count"] as? Int == 2)
            }
        }

        @Test("DELETE erases a finished upload's request, result, text and bytes; again is the same; a live job is refused")
        func eraseContents() async throws {
            try await UploadStack.run("upload-delete") { stack, _ in
                let client = stack.client
                let team = try await Fixture.team(client, mock: stack.mock, credits: 100)
                let pdf = PDFFixture.make(pages: ["Contents to be erased."])
                let (jobID, _) = try await Upload.accepted(client, team, pdf, fileName: "erase.pdf")
                let done = try await Fixture.waitForTerminal(client, team, jobID)
                #expect(done["status"] as? String == "completed")
                let before = try await Upload.storedRows(stack.postgres, jobID)
                #expect(before.documents == 1 && before.parts >= 1 && before.texts == 1, "\(before)")
                let ledgerPath = "/api/credits/teams/\(team.teamID)/transactions?limit=100"
                let (_, ledgerBefore) = try await Fixture.get(client, team, ledgerPath)
                let (_, balanceBefore) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")

                let (status, erased) = try await Upload.delete(client, team, jobID)
                #expect(status == .ok, "\(erased)")
                #expect(erased["content_erased_at"] is String)
                #expect(erased["result"] == nil || erased["result"] is NSNull)
                #expect(erased["status"] as? String == "completed")
                #expect(erased["credits_charged"] as? Int == 1, "erasing keeps what accounts for the job")
                let (_, read) = try await Fixture.get(client, team, "/api/jobs/\(jobID)")
                #expect(read["content_erased_at"] is String)
                #expect(read["result"] == nil || read["result"] is NSNull)
                let after = try await Upload.storedRows(stack.postgres, jobID)
                #expect(after.documents == 0 && after.parts == 0 && after.texts == 0, "\(after)")
                let request = try await Upload.count(
                    stack.postgres,
                    "SELECT count(*) AS n FROM jobs WHERE job_id = $1::uuid AND request IS NULL AND result IS NULL",
                    [.text(jobID)]
                )
                #expect(request == 1, "the job's request or result is still stored")
                // Invoices still add up: the ledger and the balance are as they were.
                let (_, ledgerAfter) = try await Fixture.get(client, team, ledgerPath)
                let (_, balanceAfter) = try await Fixture.get(client, team, "/api/credits/teams/\(team.teamID)/balance")
                #expect(NSDictionary(dictionary: ledgerAfter).isEqual(to: ledgerBefore), "the ledger changed")
                #expect(NSDictionary(dictionary: balanceAfter).isEqual(to: balanceBefore), "the balance changed")
                let (documentStatus, document) = try await Fixture.get(client, team, "/api/jobs/\(jobID)/document")
                #expect(documentStatus == .notFound)
                #expect(document["detail"] as? String == "Job contents were erased")

                let (again, second) = try await Upload.delete(client, team, jobID)
                #expect(again == .ok)
                #expect(second["content_erased_at"] as? String == erased["content_erased_at"] as? String)

                // A live job: no worker will take it while the mock is slow and the job waits.
                try await stack.mock.behave(#"{"latency_ms":3000}"#)
                let (live, _) = try await Upload.accepted(client, team, pdf, fileName: "live.pdf")
                let (refused, body) = try await Upload.delete(client, team, live)
                #expect(refused == .conflict)
                #expect((body["detail"] as? String)?.hasSuffix("; only a finished job's contents can be erased") == true, "\(body)")
                #expect(try await Upload.storedRows(stack.postgres, live).documents == 1)
                try await stack.mock.behave(#"{"latency_ms":0}"#)
                _ = try await Fixture.waitForTerminal(client, team, live)
            }
        }

        @Test("Idempotency-Key: the same upload twice is one job and one stored document; another file under the key is refused")
        func idempotentUpload() async throws {
            try await UploadStack.run("upload-idempotent") { stack, _ in
                let client = stack.client
                let team = try await Fixture.team(client, mock: stack.mock, credits: 100)
                let key = Fixture.unique("upload-key")
                let pdf = PDFFixture.make(pages: ["The same document, sent twice."])
                let job = try Upload.jobJSON(team)
                let (first, created) = try await Upload.submit(client, team, job: job, file: pdf, fileName: "twice.pdf", idempotencyKey: key)
                let (second, replayed) = try await Upload.submit(client, team, job: job, file: pdf, fileName: "twice.pdf", idempotencyKey: key)
                #expect(first == .accepted && second == .accepted)
                let jobID = try #require(created["job_id"] as? String)
                #expect(replayed["job_id"] as? String == jobID)
                let binds: [PostgresBind] = [.text(team.teamID)]
                #expect(try await Upload.count(stack.postgres, "SELECT count(*) AS n FROM documents WHERE team_id = $1", binds) == 1)
                #expect(try await Upload.count(stack.postgres, "SELECT count(*) AS n FROM jobs WHERE team_id = $1", binds) == 1)

                let otherFile = PDFFixture.make(pages: ["Another document under the same key."])
                let (reused, body) = try await Upload.submit(client, team, job: job, file: otherFile, fileName: "twice.pdf", idempotencyKey: key)
                #expect(reused == .conflict)
                #expect(body["detail"] as? String == "Idempotency-Key reused with a different request")
                #expect(try await Upload.count(stack.postgres, "SELECT count(*) AS n FROM documents WHERE team_id = $1", binds) == 1)

                let done = try await Fixture.waitForTerminal(client, team, jobID)
                #expect(done["status"] as? String == "completed")
                #expect(try await Upload.balance(client, team)["credits_used"] as? Int == 1)
            }
        }

        @Test("a document's json_schema: conforming; off the schema once, then conforming; off it twice → invalid_output, released")
        func structuredOutput() async throws {
            try await UploadStack.run("upload-schema", worker: Self.smallChunks, api: Self.smallChunks) { stack, _ in
                let client = stack.client
                // 800 tokens as in the chunking test, plus the ~125 the schema and the page
                // references take in every call's instructions: the same chunks of two pages.
                let team = try await Fixture.team(client, mock: stack.mock, credits: 100, contextTokens: 930)
                let schema: [String: Any] = [
                    "type": "object",
                    "properties": ["summary": ["type": "string"], "pages": ["type": "array", "items": ["type": "integer"]]],
                    "required": ["summary", "pages"],
                    "additionalProperties": false,
                ]
                let extra: [String: Any] = [
                    "max_tokens": 100, "instructions": "Summarise.",
                    "response_format": ["type": "json_schema", "json_schema": ["name": "findings", "strict": true, "schema": schema]],
                ]
                // One call: a short Markdown file. Several: four 14-line pages in two chunks of
                // two (one reduce, the final answer).
                let short = Array("# Minutes\n\n- The canal budget was approved.\n".utf8)
                let long = PDFFixture.make(pages: (1...4).map { UploadDocuments.page($0, lines: 14) })
                for (name, file, finalStep) in [("minutes.md", short, "single"), ("long.pdf", long, "reduce")] {
                    for violations in 0...2 {
                        try await stack.mock.behave(#"{"schema_violations":\#(violations)}"#)
                        let (jobID, _) = try await Upload.accepted(client, team, file, fileName: name, extra)
                        let job = try await Fixture.waitForTerminal(client, team, jobID)
                        let finals = try await Upload.calls(client, team, jobID).filter { $0["step"] as? String == finalStep }
                        let label = "\(name), \(violations) violation(s)"
                        if violations < 2 {
                            #expect(job["status"] as? String == "completed", "\(label): \(job["error"] ?? "")")
                            let content = (job["result"] as? [String: Any])?["content"] as? String ?? ""
                            let answer = try? JSONSerialization.jsonObject(with: Data(content.utf8)) as? [String: Any]
                            #expect(answer?["summary"] is String && answer?["pages"] is [Any], "\(label): content \(content)")
                            #expect(finals.count == violations + 1, "\(label): \(finals.count) final calls")
                            if finalStep == "reduce" {
                                #expect(Self.sources(job).count == 2, "\(label): sources \(Self.sources(job))")
                            }
                        } else {
                            let error = job["error"] as? [String: Any]
                            #expect(job["status"] as? String == "failed", "\(label)")
                            #expect(error?["code"] as? String == "invalid_output", "\(label): \(job["error"] ?? "")")
                            #expect((error?["message"] as? String)?.isEmpty == false)
                            #expect(finals.count == 2, "\(label): \(finals.count) final calls")
                            #expect(job["credits_charged"] as? Int == 0)
                        }
                    }
                }
                let balance = try await Upload.balance(client, team)
                #expect(balance["credits_reserved"] as? Int == 0, "\(balance)")
                #expect(balance["credits_used"] as? Int == 4, "four completed jobs, one credit each: \(balance)")
            }
        }
    }
}
