import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files `submit` sends from a directory: its regular files (not those of subdirectories,
/// not symbolic links), without hidden files and without the `.result.json` files it writes, by
/// name.
enum SubmitFiles {
    static let resultSuffix = ".result.json"

    static func select(in directory: URL) throws(CommandFailure) -> [URL] {
        let manager = FileManager.default
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw .usage("cannot list \(directory.path): not a readable directory")
        }
        return names.filter { isCandidate($0) }.sorted().compactMap { name in
            let url = directory.appendingPathComponent(name)
            // attributesOfItem does not follow a symbolic link: a link is not a regular file.
            guard let type = try? manager.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType, type == .typeRegular else { return nil }
            return url
        }
    }

    /// Whether a name may be a document: not hidden, not a result.
    static func isCandidate(_ name: String) -> Bool {
        !name.hasPrefix(".") && !name.hasSuffix(resultSuffix)
    }

    /// Where a file's result goes: beside it, `<name>.result.json`.
    static func resultURL(for file: URL) -> URL {
        file.deletingLastPathComponent().appendingPathComponent(file.lastPathComponent + resultSuffix)
    }

    /// Writes a result through a hidden temporary file and a rename, so that a result file is
    /// never half-written (and the temporary file is never taken for a document).
    static func writeResult(_ value: JSONValue, for file: URL) throws {
        let target = resultURL(for: file)
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).result.\(UUID().uuidString).tmp")
        try Data((value.pretty + "\n").utf8).write(to: temporary)
        guard rename(temporary.path, target.path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: temporary)
            throw CommandFailure.unavailable("cannot write \(target.path): \(String(cString: strerror(code)))")
        }
    }
}
