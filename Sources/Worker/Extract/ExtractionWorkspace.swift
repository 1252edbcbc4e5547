import Foundation
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A private directory (mode 0700) holding one document while it is extracted: the worker appends
/// the stored upload's parts to ``file`` as it reads them, the extractor reads the file and runs
/// with the directory as its working directory, `HOME` and `TMPDIR`. ``withExtractionWorkspace``
/// removes it whatever happens.
final class ExtractionWorkspace: Sendable {
    let directory: FilePath
    /// Where the document's bytes go (`document` in ``directory``).
    let file: FilePath
    private let descriptor: FileDescriptor
    private let removed = Mutex(false)

    /// Makes the directory under `root` (the system's temporary directory by default).
    init(root: String? = nil) throws(ExtractionError) {
        let base = root ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((base.hasSuffix("/") ? base : base + "/").utf8CString.dropLast()) + Array("saas-extract-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw .extractorUnusable("cannot make a workspace under \(base): errno \(errno)")
        }
        directory = FilePath(String(cString: made))
        file = directory.appending("document")
        do {
            descriptor = try FileDescriptor.open(
                file,
                .writeOnly,
                options: [.create, .exclusiveCreate, .closeOnExec],
                permissions: [.ownerReadWrite]
            )
        } catch {
            rmdir(directory.string)
            throw .extractorUnusable("cannot create \(file): \(error)")
        }
    }

    /// Appends one chunk of the document.
    func append(_ bytes: [UInt8]) throws(ExtractionError) {
        do {
            _ = try descriptor.writeAll(bytes)
        } catch {
            throw .extractorUnusable("cannot write \(file): \(error)")
        }
    }

    /// Closes the file and removes the directory with whatever the extractor left in it. Once:
    /// a second call does nothing (closing the descriptor twice could close another file's).
    func remove() {
        guard
            removed.withLock({ done in
                defer { done = true }
                return !done
            })
        else { return }
        try? descriptor.close()
        try? FileManager.default.removeItem(atPath: directory.string)
    }
}

/// Runs `body` with a fresh workspace and removes it afterwards, thrown error or not.
func withExtractionWorkspace<Result: Sendable>(
    root: String? = nil,
    _ body: (ExtractionWorkspace) async throws -> Result
) async throws -> Result {
    let workspace = try ExtractionWorkspace(root: root)
    do {
        let result = try await body(workspace)
        workspace.remove()
        return result
    } catch {
        workspace.remove()
        throw error
    }
}

extension ExtractionWorkspace {
    /// Removes workspaces a dead worker left behind (killed mid-extraction, each up to a whole
    /// document). Only those untouched for `age`: other workers on the machine share the folder,
    /// and a live extraction is younger than its timeout. Returns how many were removed.
    @discardableResult
    static func removeStale(root: String? = nil, olderThan age: TimeInterval) -> Int {
        let base = root ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let files = FileManager.default
        guard let names = try? files.contentsOfDirectory(atPath: base) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix("saas-extract-") {
            let path = (base as NSString).appendingPathComponent(name)
            guard let modified = (try? files.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                Date().timeIntervalSince(modified) > age
            else { continue }
            if (try? files.removeItem(atPath: path)) != nil { removed += 1 }
        }
        return removed
    }
}
