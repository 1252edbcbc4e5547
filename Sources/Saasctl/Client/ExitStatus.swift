/// The exit codes scripts can trust (README and `saasctl --help` list them).
enum ExitStatus: Int32, Sendable, CaseIterable {
    /// The command did what it was asked.
    case ok = 0
    /// The API refused the request (a 4xx other than 401 and a suspended team's 403); its
    /// `detail` went to stderr.
    case refused = 1
    /// The command line was wrong (ArgumentParser's errors, a bad option value, an unusable
    /// configuration file).
    case usage = 2
    /// The API could not be reached, failed (5xx), answered something unreadable or too large, or
    /// did not answer in time.
    case unavailable = 3
    /// Authentication failed (401, or the 403 of a suspended team's key), or no key was
    /// configured for the command.
    case authFailed = 4

    /// The one 403 that is about the key itself (API.md: the team key is valid but its team is
    /// suspended). Every other 403 refuses one request of a working key — another team's job, a
    /// model group the team does not hold — and is an ordinary refusal, exit 1: a script must not
    /// rotate keys because it asked for something it may not have.
    static let suspendedDetail = "Team access is suspended. Please contact support."

    /// The class of an HTTP answer's status (and, for a 403, its `detail`); nil for a success.
    static func forHTTPStatus(_ status: Int, detail: String?) -> ExitStatus? {
        switch status {
        case 200..<300: nil
        case 401: .authFailed
        case 403: detail == suspendedDetail ? .authFailed : .refused
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
