import Foundation
import SystemPackage

/// The `--env-file` of both binaries. swift-configuration reads regular files only and refuses
/// anything else ("permission denied" for `/dev/null`, the usual way to say "no file"; a FIFO
/// such as `<(…)` likewise). Such a path is read here and handed over as a regular file's
/// contents: `/dev/null` reads as empty.
enum EnvironmentFile {
    /// A path the provider can read: `path` itself when it is a regular file or missing, otherwise
    /// a temporary copy of what reading it yields (the caller removes it, see `cleanup`).
    static func readablePath(_ path: String) throws -> (path: FilePath, cleanup: @Sendable () -> Void) {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG, (info.st_mode & S_IFMT) != S_IFDIR else {
            return (FilePath(path), {})
        }
        // Read once, at start-up, before any request: a blocking read is harmless here.
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return (FilePath(path), {})
        }
        let contents = (try handle.readToEnd()) ?? Data()
        try? handle.close()
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("saas-env-\(UUID.random().uuidString)").path
        guard FileManager.default.createFile(atPath: copy, contents: contents, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown)
        }
        return (FilePath(copy), { try? FileManager.default.removeItem(atPath: copy) })
    }
}
