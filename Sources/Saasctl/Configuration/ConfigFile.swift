#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `~/.config/saasctl/config`: `key = value` lines (`url`, `admin_key`, `team_key`), `#`
/// comments, blank lines; a value may be wrapped in double quotes. Unknown or repeated keys are
/// refused with their line number, so a typo is not silently ignored. A file holding a key must
/// be readable by its owner alone, as ssh insists for private keys.
struct ConfigFile: Sendable, Equatable {
    static let knownKeys: Set<String> = ["url", "admin_key", "team_key"]
    /// A configuration file is a few lines; anything larger is not one.
    static let maxBytes = 64 * 1024

    var url: String?
    var adminKey: String?
    var teamKey: String?

    var holdsKey: Bool { adminKey != nil || teamKey != nil }

    /// Parses a file's text. Errors name the line, never its value (it may be a key).
    static func parse(_ text: String, path: String) throws(CommandFailure) -> ConfigFile {
        var file = ConfigFile()
        var seen: Set<String> = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw .usage("\(path):\(index + 1): expected `key = value`")
            }
            let key = line[..<equals].trimmingWhitespace()
            var value = line[line.index(after: equals)...].trimmingWhitespace()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            guard knownKeys.contains(key) else {
                throw .usage("\(path):\(index + 1): unknown key '\(Sanitized.text(key, maxWidth: 40))' (known: url, admin_key, team_key)")
            }
            guard seen.insert(key).inserted else { throw .usage("\(path):\(index + 1): '\(key)' is set twice") }
            guard !value.isEmpty else { throw .usage("\(path):\(index + 1): '\(key)' has no value") }
            switch key {
            case "url": file.url = value
            case "admin_key": file.adminKey = value
            default: file.teamKey = value
            }
        }
        return file
    }

    /// Reads and parses the file at `path`; nil when it does not exist and `required` is false.
    /// A file that holds a key and grants group or others any access is refused.
    static func load(path: String, required: Bool) throws(CommandFailure) -> ConfigFile? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT && !required { return nil }
            throw .usage("cannot read config file \(path): \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .usage("cannot read config file \(path)") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .usage("config file \(path) is not a regular file") }
        guard Int(info.st_size) <= maxBytes else { throw .usage("config file \(path) is larger than \(maxBytes / 1024) KiB") }
        var bytes = [UInt8](repeating: 0, count: maxBytes + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw .usage("cannot read config file \(path)") }
            if n == 0 { break }
            count += n
        }
        guard count <= maxBytes else { throw .usage("config file \(path) is larger than \(maxBytes / 1024) KiB") }
        guard let text = String(validating: bytes[..<count], as: UTF8.self) else {
            throw .usage("config file \(path) is not UTF-8 text")
        }
        let file = try parse(text, path: path)
        let mode = Int(info.st_mode) & 0o777
        if file.holdsKey, let refusal = permissionProblem(mode: mode, path: path) { throw refusal }
        return file
    }

    /// A file holding a key must grant nothing to group or others.
    static func permissionProblem(mode: Int, path: String) -> CommandFailure? {
        guard mode & 0o077 != 0 else { return nil }
        let octal = String(mode, radix: 8)
        return .usage(
            "config file \(path) holds a key but is accessible by others (mode 0\(octal)); refusing to use it. Run: chmod 600 \(path)"
        )
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}
