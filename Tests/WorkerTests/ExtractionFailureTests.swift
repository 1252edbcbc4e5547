import DocumentFixtures
import Foundation
import Logging
import Shared
import SystemPackage
import Testing

@testable import Worker

@Suite("Extraction: hostile documents and extractors end in a typed error, the worker unharmed")
struct ExtractionFailureTests {
    @Test("an encrypted PDF is encrypted (pdftotext: Incorrect password), the document's fault")
    func encryptedPDF() async throws {
        let harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        let error = await harness.extract(PDFFixture.encrypted(), as: .pdf).failure
        #expect(error == .encrypted(.pdf))
        #expect(error?.message == "The PDF is encrypted; upload it without a password.")
        #expect(error?.isDocumentFault == true)
    }

    @Test("a truncated PDF is unreadable (pdftotext: Couldn't find trailer dictionary)")
    func truncatedPDF() async throws {
        let harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        let error = try #require(await harness.extract(PDFFixture.truncated(), as: .pdf).failure)
        guard case .unreadable(.pdf, let diagnostic) = error else {
            Issue.record("expected unreadable, got \(error)")
            return
        }
        #expect(diagnostic.contains("trailer") || diagnostic.contains("xref"))
        #expect(error.isDocumentFault)
        // Bytes that are no PDF at all, and a DOCX that is no ZIP, fail the same way.
        #expect(await harness.extract(Array("not a pdf".utf8), as: .pdf).failure.map(Self.isUnreadable) == true)
        #expect(await harness.extract(Array("PK not a zip".utf8), as: .docx).failure.map(Self.isUnreadable) == true)
    }

    private static func isUnreadable(_ error: ExtractionError) -> Bool {
        if case .unreadable = error { return true }
        return false
    }

    @Test("a zip-bomb DOCX with honest headers (1 GiB from 6.5 MiB) is refused from its directory, pandoc never runs")
    func honestZipBomb() async throws {
        var harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        harness.settings.pandocPath = try harness.script("pandoc", "touch \(harness.path("pandoc-ran"))")
        let error = await harness.extract(DOCXFixture.zipBomb(), as: .docx).failure
        guard case .zipBomb(.docx, let reason) = error else {
            Issue.record("expected zipBomb, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("512 MiB"))
        #expect(error?.isDocumentFault == true)
        // Under the total but expanding 159 times: the ratio refuses it.
        guard case .zipBomb(_, let ratio) = await harness.extract(DOCXFixture.zipBomb(expandingTo: 100 << 20), as: .docx).failure else {
            Issue.record("expected zipBomb for the ratio")
            return
        }
        #expect(ratio.contains("expands 15"))
        #expect(!FileManager.default.fileExists(atPath: harness.path("pandoc-ran")))
    }

    @Test("a zip-bomb DOCX whose headers lie passes the directory and meets the memory limit in pandoc")
    func lyingZipBomb() async throws {
        var harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        harness.settings.memoryLimitBytes = 256 << 20
        let bomb = DOCXFixture.lyingZipBomb()
        let summary = try await withExtractionWorkspace { workspace in
            try workspace.append(bomb)
            return try ZipInspector(limits: ZipLimits()).inspect(workspace.file, kind: .docx)
        }
        #expect(summary.uncompressedBytes < 10_000)
        // pandoc 2.17: "internal error: Unable to commit 268435456 bytes of memory", SIGABRT, in
        // under a second.
        #expect(await harness.extract(bomb, as: .docx).failure == .tooMuchMemory(limitBytes: 256 << 20))
    }

    @Test("a hanging extractor is killed at the timeout, its whole process group with it")
    func hangingExtractor() async throws {
        var harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        let pids = harness.path("pids")
        harness.settings.pdftotextPath = try harness.script("pdftotext", "sleep 60 &\necho \"$$ $!\" > \(pids)\nwait")
        harness.settings.timeout = .seconds(1)
        let clock = ContinuousClock()
        let start = clock.now
        let error = await harness.extract(PDFFixture.make(pages: ["x"]), as: .pdf).failure
        #expect(error == .timedOut(.seconds(1)))
        #expect(error?.message == "Extracting the document's text took longer than 1 seconds.")
        // Killed at the timeout, not after the child's 60 s (a loaded machine adds seconds to spawning).
        #expect(clock.now - start < .seconds(30))
        let recorded = try String(contentsOfFile: pids, encoding: .utf8).split(separator: " ").compactMap {
            Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(recorded.count == 2)
        for pid in recorded { #expect(await eventually { processIsGone(pid) }, "process \(pid) outlived the timeout") }
    }

    @Test("a cancelled extraction (job cancelled, worker stopping) kills its child and says cancelled, not the document's fault")
    func cancelled() async throws {
        var harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        let pids = harness.path("pids")
        harness.settings.pdftotextPath = try harness.script("pdftotext", "sleep 60 &\necho \"$$ $!\" > \(pids)\nwait")
        let running = Task { [harness] in await harness.extract(PDFFixture.make(pages: ["x"]), as: .pdf) }
        // Spawning waits for a core on a loaded machine (a CI run needed over 10 s): wait long.
        #expect(await eventually(within: .seconds(60)) { FileManager.default.fileExists(atPath: pids) })
        try await Task.sleep(for: .milliseconds(50))  // the script's line is written
        running.cancel()
        let error = await running.value.failure
        #expect(error == .cancelled && error?.isDocumentFault == false)
        let recorded = try String(contentsOfFile: pids, encoding: .utf8).split(separator: " ").compactMap {
            Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(recorded.count == 2)
        for pid in recorded { #expect(await eventually { processIsGone(pid) }, "process \(pid) outlived the cancellation") }
    }

    @Test("an extractor past the memory limit is tooMuchMemory")
    func memoryLimit() async throws {
        var harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        harness.settings.pdftotextPath = try harness.script("pdftotext", "x=$(head -c 300000000 /dev/zero | tr '\\0' a)\necho ${#x}")
        harness.settings.memoryLimitBytes = 64 << 20
        let error = await harness.extract(PDFFixture.make(pages: ["x"]), as: .pdf).failure
        #expect(error == .tooMuchMemory(limitBytes: 64 << 20))
        #expect(error?.message == "Extracting the document's text needed more than 64 MiB of memory.")
    }

    @Test("an extractor writing past the output cap is stopped there: textTooLarge, long before the timeout")
    func outputCap() async throws {
        var harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        harness.settings.pandocPath = try harness.script("pandoc", "exec yes 'an endless line of text'")
        harness.settings.maxTextBytes = 64 << 10
        harness.settings.timeout = .seconds(30)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(await harness.extract("<p>hi</p>", as: .html).failure == .textTooLarge(limitBytes: 64 << 10))
        // Stopped at the cap, not at the 30 s timeout.
        #expect(clock.now - start < .seconds(25))
    }

    @Test("a missing extractor binary is the machine's fault, not the document's")
    func missingBinary() async throws {
        var harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        harness.settings.pdftotextPath = "/nonexistent/pdftotext"
        harness.settings.pandocPath = "no-such-pandoc-anywhere"
        let pdf = await harness.extract(PDFFixture.make(pages: ["x"]), as: .pdf).failure
        #expect(pdf == .extractorMissing("/nonexistent/pdftotext"))
        #expect(pdf?.isDocumentFault == false)
        #expect(await harness.extract("<p>x</p>", as: .html).failure == .extractorMissing("no-such-pandoc-anywhere"))
        // A script whose interpreter is missing is missing too (the wrapper cannot exec it).
        let path = harness.path("broken")
        try "#!/nonexistent/interpreter\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        harness.settings.pdftotextPath = path
        #expect(await harness.extract(PDFFixture.make(pages: ["x"]), as: .pdf).failure?.isDocumentFault == false)
    }

    @Test("a crashing extractor is unreadable; a failing one too, with its words kept for the log")
    func crashes() async throws {
        var harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        harness.settings.pandocPath = try harness.script("pandoc", "echo 'Unknown reader: docx' >&2\nexit 21")
        let error = await harness.extract("<p>x</p>", as: .html).failure
        #expect(error == .unreadable(.html, diagnostic: "pandoc exited with status 21: Unknown reader: docx") || error.map(Self.isUnreadable) == true)
        #expect(error?.diagnostic.contains("Unknown reader") == true)
        harness.settings.pandocPath = try harness.script("pandoc2", "kill -SEGV $$")
        #expect(await harness.extract("<p>x</p>", as: .html).failure.map(Self.isUnreadable) == true)
    }

    @Test("the extractor runs without network, in its workspace, with a minimal environment")
    func sandbox() async throws {
        var harness = try ExtractionHarness()
        defer { harness.cleanUp() }
        harness.settings.pandocPath = try harness.script(
            "pandoc",
            "echo \"net=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ,)\"\necho \"cwd=$PWD home=$HOME tmp=$TMPDIR\"\nenv | cut -d= -f1 | sort | tr '\\n' ,"
        )
        let page = try await harness.extract("<p>x</p>", as: .html).get().pages[0]
        let sandbox = await Sandbox.probe(logger: Logger(label: "test"))
        if !sandbox.network.isEmpty { #expect(page.contains("net=lo,\n")) }
        let directory = try #require(page.split(separator: "\n").first { $0.hasPrefix("cwd=") }).dropFirst(4).split(separator: " ")[0]
        #expect(page.contains("home=\(directory) tmp=\(directory)"))
        #expect(directory.contains("saas-extract-"))
        let names = Set(try #require(page.split(separator: "\n").last).split(separator: ",").map(String.init))
        #expect(names.isSubset(of: ["PATH", "HOME", "TMPDIR", "LANG", "PWD", "SHLVL", "_", "OLDPWD"]))
        #expect(!FileManager.default.fileExists(atPath: String(directory)), "the workspace is removed")
    }
}

@Suite("Extraction: the workspace and the ZIP directory")
struct ExtractionWorkspaceTests {
    @Test("the workspace is private (0700), holds what was appended, and is removed")
    func workspace() async throws {
        let (directory, contents, mode) = try await withExtractionWorkspace { workspace in
            try workspace.append([1, 2])
            try workspace.append([3])
            let attributes = try FileManager.default.attributesOfItem(atPath: workspace.directory.string)
            return (
                workspace.directory.string, try Data(contentsOf: URL(fileURLWithPath: workspace.file.string)),
                (attributes[.posixPermissions] as? Int) ?? 0
            )
        }
        #expect(contents == Data([1, 2, 3]))
        #expect(mode == 0o700)
        #expect(!FileManager.default.fileExists(atPath: directory))
        struct Boom: Error {}
        var kept = ""
        await #expect(throws: Boom.self) {
            try await withExtractionWorkspace { workspace in
                kept = workspace.directory.string
                throw Boom()
            }
        }
        #expect(!kept.isEmpty && !FileManager.default.fileExists(atPath: kept))
    }

    @Test("the ZIP directory: a DOCX's members counted; no ZIP, too many members or a huge directory refused")
    func zipInspector() async throws {
        func inspect(_ bytes: [UInt8], _ limits: ZipLimits = ZipLimits()) async throws -> Result<ZipInspector.Summary, ExtractionError> {
            try await withExtractionWorkspace { workspace in
                try workspace.append(bytes)
                return Result { () throws(ExtractionError) in try ZipInspector(limits: limits).inspect(workspace.file, kind: .docx) }
            }
        }
        let docx = DOCXFixture.make(paragraphs: ["a"])
        let summary = try await inspect(docx).get()
        #expect(summary.entries == 3 && summary.uncompressedBytes == summary.compressedBytes)
        guard case .zipBomb(_, let reason) = try await inspect(docx, ZipLimits(maxEntries: 2)).failure else {
            Issue.record("expected too many entries")
            return
        }
        #expect(reason == "it holds 3 files, more than the 2 allowed")
        guard case .zipBomb = try await inspect(docx, ZipLimits(maxCentralDirectoryBytes: 10)).failure else {
            Issue.record("expected a directory too large")
            return
        }
        guard case .unreadable = try await inspect(Array(docx.dropLast(30))).failure else {
            Issue.record("expected a damaged archive")
            return
        }
        guard case .unreadable = try await inspect([]).failure else {
            Issue.record("expected an empty file refused")
            return
        }
    }
}
