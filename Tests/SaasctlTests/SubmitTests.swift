import Foundation
import NIOCore
import Testing

@testable import Saasctl

/// `submit`'s pieces: which files, their Idempotency-Keys, the multipart body, the result files.
@Suite struct SubmitTests {
    static let job: JSONValue = ["team_id": "t1", "job_type": "document_analysis", "model": "g1"]

    @Test func theKeyIsStableAndFollowsPathContentAndFields() {
        let content = Data("revenue grew".utf8)
        let key = IdempotencyKey.derive(path: "/docs/a.txt", content: content, job: Self.job)
        #expect(key == IdempotencyKey.derive(path: "/docs/a.txt", content: Data("revenue grew".utf8), job: Self.job))
        #expect(key.hasPrefix("saasctl-"))
        #expect(key.count == 8 + 64)
        #expect(key.utf8.allSatisfy { $0 > 32 && $0 < 127 })  // what the API accepts: visible ASCII, ≤ 255
        var others: Set<String> = [key]
        others.insert(IdempotencyKey.derive(path: "/docs/b.txt", content: content, job: Self.job))
        others.insert(IdempotencyKey.derive(path: "/docs/a.txt", content: Data("revenue fell".utf8), job: Self.job))
        others.insert(
            IdempotencyKey.derive(path: "/docs/a.txt", content: content, job: ["team_id": "t1", "job_type": "document_analysis", "model": "g2"])
        )
        #expect(others.count == 4)
    }

    @Test func theKeyIsAKnownHash() {
        // SHA-256 of (len "/a" ‖ "/a" ‖ len H ‖ H ‖ len "{}" ‖ "{}"), H = SHA-256("") — pinned so a
        // change of the derivation (which would resubmit every file once) is a deliberate one.
        let key = IdempotencyKey.derive(path: "/a", content: Data(), job: .object([:]))
        #expect(key == "saasctl-" + Self.pinned)
    }

    static let pinned = "70f9f09c3789729440a6cd2b8cefc1ab8e1890c8f4f2375aa20e0818f2f6cf03"

    @Test func filesAreTheDirectorysRegularVisibleNonResultFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("saasctl-submit-\(UUID().uuidString)")
        let manager = FileManager.default
        try manager.createDirectory(at: directory.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? manager.removeItem(at: directory) }
        for name in ["b.txt", "a.md", ".hidden", "a.md.result.json", "sub/inner.txt", "日本.txt"] {
            try Data("x".utf8).write(to: directory.appendingPathComponent(name))
        }
        try manager.createSymbolicLink(
            at: directory.appendingPathComponent("link.txt"),
            withDestinationURL: directory.appendingPathComponent("b.txt")
        )
        let names = try SubmitFiles.select(in: directory).map(\.lastPathComponent)
        #expect(names == ["a.md", "b.txt", "日本.txt"])
        #expect(throws: CommandFailure.self) { try SubmitFiles.select(in: directory.appendingPathComponent("missing")) }
    }

    @Test func resultsAreWrittenBesideTheFileWhole() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("saasctl-result-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("report.pdf")
        try SubmitFiles.writeResult(["status": "completed"], for: file)
        try SubmitFiles.writeResult(["status": "failed"], for: file)
        let written = try Data(contentsOf: directory.appendingPathComponent("report.pdf.result.json"))
        #expect(JSONValue.parse(written) == ["status": "failed"])
        // Only the result is left: no temporary file.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["report.pdf.result.json"])
    }

    @Test func theMultipartBodyHasTheJobAndTheFile() {
        var form = MultipartForm(boundary: "b0undary")
        form.field("job", contentType: "application/json", Self.job.compact)
        form.file("file", fileName: "re\"port é.txt", Array("hello".utf8))
        let body = String(buffer: form.finished())
        #expect(form.contentType == "multipart/form-data; boundary=b0undary")
        #expect(
            body == "--b0undary\r\n"
                + "Content-Disposition: form-data; name=\"job\"\r\nContent-Type: application/json\r\n\r\n"
                + #"{"job_type":"document_analysis","model":"g1","team_id":"t1"}"# + "\r\n"
                + "--b0undary\r\n"
                + "Content-Disposition: form-data; name=\"file\"; filename=\"re_port _.txt\"; filename*=UTF-8''re%22port%20%C3%A9.txt\r\n"
                + "Content-Type: application/octet-stream\r\n\r\nhello\r\n"
                + "--b0undary--\r\n"
        )
    }

    @Test func aDocumentIsSubmittedWithItsKeyAndPolledToItsEnd() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("saasctl-flow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("a.txt")
        try Data("revenue grew".utf8).write(to: file)
        let server = try CannedServer([
            .json(503, #"{"detail":"busy"}"#, headers: ["Retry-After: 1"]),
            .json(202, #"{"job_id":"j-1","status":"queued"}"#),
            .json(200, #"{"job_id":"j-1","status":"in_progress"}"#),
            .json(200, #"{"job_id":"j-1","status":"completed","result":{"content":"ok"}}"#),
        ])
        defer { server.stop() }
        let outcome = try await APIClient.with(try ClientTests.settings(server.url)) { client in
            let submitter = DocumentSubmitter(client: client, teamID: "t1", model: "g1", instructions: nil, deadline: .now + .seconds(30))
            return await submitter.run(file)
        }
        #expect(outcome.status == "completed")
        #expect(outcome.exit == .ok)
        #expect(outcome.jobID == "j-1")
        let heads = server.requests
        #expect(heads.count == 4)
        let key = IdempotencyKey.derive(path: file.standardizedFileURL.path, content: Data("revenue grew".utf8), job: Self.job)
        // The retried submit carries the same key: it cannot become a second job.
        #expect(heads[0].contains("Idempotency-Key: \(key)") && heads[1].contains("Idempotency-Key: \(key)"))
        #expect(heads[0].contains("Authorization: Bearer sk-team-test-key"))
        #expect(heads[2].hasPrefix("GET /api/jobs/j-1?wait="))
        let result = try Data(contentsOf: SubmitFiles.resultURL(for: file))
        #expect(JSONValue.parse(result)?[path: "result.content"] == "ok")
    }

    @Test func aRefusedSubmitIsWrittenAsTheFilesResult() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("saasctl-refused-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("a.png")
        try Data([0x89, 0x50, 0x4E, 0x47]).write(to: file)
        let server = try CannedServer([.json(415, #"{"detail":"Unsupported document type"}"#)])
        defer { server.stop() }
        let outcome = try await APIClient.with(try ClientTests.settings(server.url)) { client in
            await DocumentSubmitter(client: client, teamID: "t1", model: "g1", instructions: nil, deadline: .now + .seconds(10)).run(file)
        }
        #expect(outcome.status == "refused")
        #expect(outcome.exit == .refused)
        let result = JSONValue.parse(try Data(contentsOf: SubmitFiles.resultURL(for: file)))
        #expect(result?[path: "error.http_status"] == .integer(415))
        #expect(result?[path: "error.message"] == "Unsupported document type")
    }

    @Test func aForbiddenSubmitIsARefusalNotAnAuthFailure() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("saasctl-forbidden-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("a.txt")
        try Data("revenue grew".utf8).write(to: file)
        let server = try CannedServer([
            .json(403, #"{"detail":"API key does not belong to team 't1'"}"#),
            .json(403, #"{"detail":"Team access is suspended. Please contact support."}"#),
        ])
        defer { server.stop() }
        let (foreign, suspended) = try await APIClient.with(try ClientTests.settings(server.url)) { client in
            let submitter = DocumentSubmitter(client: client, teamID: "t1", model: "g1", instructions: nil, deadline: .now + .seconds(10))
            return (await submitter.run(file), await submitter.run(file))
        }
        #expect(foreign.exit == .refused)
        #expect(suspended.exit == .authFailed)
    }

    @Test func theFilesBytesAreReservedForTheSubmitOnlyAndALargeFileStillGoes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("saasctl-budget-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("big.txt")
        try Data(repeating: UInt8(ascii: "x"), count: 200_000).write(to: file)
        // A budget smaller than the file: it is sent alone, and its reservation is given back
        // before the job is polled.
        let budget = ByteBudget(capacity: 100_000)
        let server = try CannedServer([
            .json(202, #"{"job_id":"j-1","status":"queued"}"#),
            Reply(status: 200, body: Array(#"{"job_id":"j-1","status":"completed"}"#.utf8), delay: 0.5, headers: ["Content-Type: application/json"]),
        ])
        defer { server.stop() }
        let (outcome, duringPoll) = try await APIClient.with(try ClientTests.settings(server.url)) { client in
            var submitter = DocumentSubmitter(client: client, teamID: "t1", model: "g1", instructions: nil, deadline: .now + .seconds(10))
            submitter.budget = budget
            async let outcome = submitter.run(file)
            // While the poll's answer is delayed, the file's bytes are no longer reserved.
            for _ in 0..<40 where server.requests.count < 2 { try await Task.sleep(for: .milliseconds(20)) }
            let seen = budget.available
            return (await outcome, seen)
        }
        #expect(outcome.status == "completed", "\(outcome)")
        #expect(duringPoll == 100_000)
        #expect(budget.available == 100_000)
        #expect(DocumentSubmitter.heldBytes(forFileOf: 200_000) >= 400_000)
    }

    @Test func aFileIsReadAsItsReservedSizeOrNotAtAll() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("saasctl-read-\(UUID().uuidString)")
        try Data("12345".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (handle, size) = try DocumentSubmitter.open(file)
        #expect(size == 5)
        try Data("1234567".utf8).write(to: file)  // grew after its size was reserved
        #expect(throws: CommandFailure(.refused, "changed while it was read; not sent (run again)")) {
            try DocumentSubmitter.read(handle, size: size)
        }
        try handle.close()
        try Data().write(to: file)
        #expect(throws: CommandFailure(.refused, "empty; not sent")) { try DocumentSubmitter.open(file) }
    }

    @Test func theWorstOutcomeDecidesTheExitCode() {
        let order = [ExitStatus.ok, .refused, .unavailable, .authFailed].map(SubmitCommand.severity)
        #expect(order == order.sorted())
    }
}
