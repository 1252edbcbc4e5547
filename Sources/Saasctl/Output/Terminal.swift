import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where output goes: results on stdout, refusals, progress and notes on stderr.
enum Terminal {
    /// Writes a line to stdout.
    static func out(_ text: String) {
        write(text + "\n", to: FileHandle.standardOutput)
    }

    /// Writes a line to stderr.
    static func err(_ text: String) {
        write(text + "\n", to: FileHandle.standardError)
    }

    /// Writes text to stderr as it is (progress bars redraw their line).
    static func errRaw(_ text: String) {
        write(text, to: FileHandle.standardError)
    }

    /// Whether stderr is a terminal (progress bars redraw in place only there).
    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }

    private static func write(_ text: String, to handle: FileHandle) {
        // A closed pipe (`saasctl … | head`) must not end the process with SIGPIPE mid-write.
        try? handle.write(contentsOf: Data(text.utf8))
    }
}
