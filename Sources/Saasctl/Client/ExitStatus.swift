/// The exit codes scripts can trust (README and `saasctl --help` list them).
enum ExitStatus: Int32, Sendable, CaseIterable {
    /// The command did what it was asked.
    case ok = 0
    /// The API refused the request (a 4xx other than 401/403); its `detail` went to stderr.
    case refused = 1
    /// The command line was wrong (ArgumentParser's errors, a bad option value, an unusable
    /// configuration file).
    case usage = 2
    /// The API could not be reached, failed (5xx), answered something unreadable or too large, or
    /// did not answer in time.
    case unavailable = 3
    /// Authentication failed (401/403), or no key was configured for the command.
    case authFailed = 4

    /// The class of an HTTP answer's status; nil for a success.
    static func forHTTPStatus(_ status: Int) -> ExitStatus? {
        switch status {
        case 200..<300: nil
        case 401, 403: .authFailed
        case 400..<500: .refused
        default: .unavailable
        }
    }
}

/// Why a command stopped: the exit code and one sentence for stderr. Every failure of a command
/// ends as one of these, so that the exit code is decided in one place.
struct CommandFailure: Error, Sendable, Equatable, CustomStringConvertible {
    var status: ExitStatus
    var message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    var description: String { message }

    static func usage(_ message: String) -> CommandFailure { CommandFailure(.usage, message) }
    static func unavailable(_ message: String) -> CommandFailure { CommandFailure(.unavailable, message) }
}
