import Foundation
import Testing

@testable import Shared

/// Issue 8, item 22: `--env-file /dev/null`, the usual way to say "no file", stopped both binaries
/// with "permission denied". Both read their configuration through ``AppConfiguration/load``.
@Suite("The --env-file of both binaries")
struct EnvironmentFileTests {
    @Test("/dev/null reads as an empty file")
    func devNull() async throws {
        let configuration = try await AppConfiguration.load(environmentFile: "/dev/null")
        #expect(configuration.port > 0)
    }

    @Test("a missing file is no file; a regular file is read")
    func regularAndMissing() async throws {
        _ = try await AppConfiguration.load(environmentFile: "/nonexistent/\(UUID().uuidString).env")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("env-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data("SAAS_TEST_ONLY_VARIABLE=1\nDEFAULT_MAX_TOKENS=777\n".utf8)))
        let configuration = try await AppConfiguration.load(environmentFile: path)
        // The process environment wins over the file; the tests do not set this one.
        if ProcessInfo.processInfo.environment["DEFAULT_MAX_TOKENS"] == nil {
            #expect(configuration.defaultMaxTokens == 777)
        }
    }

    @Test("a FIFO (as from <(…)) is read for what it holds")
    func fifo() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("env-fifo-\(UUID().uuidString)").path
        #expect(mkfifo(path, 0o600) == 0)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = Thread {
            if let handle = FileHandle(forWritingAtPath: path) {
                handle.write(Data("DEFAULT_CONTEXT_TOKENS=4096\n".utf8))
                try? handle.close()
            }
        }
        writer.start()
        let configuration = try await AppConfiguration.load(environmentFile: path)
        if ProcessInfo.processInfo.environment["DEFAULT_CONTEXT_TOKENS"] == nil {
            #expect(configuration.defaultContextTokens == 4096)
        }
    }
}
