import Foundation
import Logging
import Shared
import SystemPackage
import Testing

@testable import Worker

/// Runs extractions the way the worker will: bytes into a fresh workspace, the extractor on its
/// file, the workspace removed. Fake extractors are shell scripts in a directory of the test's own.
struct ExtractionHarness {
    var settings = ExtractionSettings(timeout: .seconds(20), memoryLimitBytes: 1 << 30)
    let scripts: URL

    init() throws {
        scripts = FileManager.default.temporaryDirectory.appendingPathComponent("extraction-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
    }

    func extract(_ bytes: [UInt8], as kind: DocumentKind) async -> Result<ExtractedText, ExtractionError> {
        let extractor = SubprocessExtractor(settings: settings, logger: Logger(label: "extraction-tests"))
        do {
            return try await withExtractionWorkspace { workspace in
                for start in stride(from: 0, to: bytes.count, by: 1 << 20) {
                    try workspace.append(Array(bytes[start..<min(bytes.count, start + (1 << 20))]))
                }
                do throws(ExtractionError) {
                    return .success(try await extractor.extract(workspace.file, kind: kind))
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            Issue.record("the workspace failed: \(error)")
            return .failure(.extractorUnusable("\(error)"))
        }
    }

    func extract(_ text: String, as kind: DocumentKind) async -> Result<ExtractedText, ExtractionError> {
        await extract(Array(text.utf8), as: kind)
    }

    /// A fake extractor: `body` under `#!/bin/bash`, executable.
    func script(_ name: String, _ body: String) throws -> String {
        let path = scripts.appendingPathComponent(name).path
        try ("#!/bin/bash\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    func path(_ name: String) -> String { scripts.appendingPathComponent(name).path }

    func cleanUp() { try? FileManager.default.removeItem(at: scripts) }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// Whether a process is gone: no such pid, or a zombie awaiting its reaper (it runs no more).
func processIsGone(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    guard let close = stat.lastIndex(of: ")") else { return true }
    return stat[close...].dropFirst(2).first == "Z"
}
