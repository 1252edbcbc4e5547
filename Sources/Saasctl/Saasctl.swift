import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `saasctl`, the admin command line: the API over HTTP with the admin key (or, for `submit`,
/// a team key), never the stores. Every outcome ends in one of ``ExitStatus``'s codes.
@main
struct Saasctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saasctl",
        abstract: "Operate the LLM job service through its API.",
        discussion: """
            Configuration: --url, else SAASCTL_URL, else `url` in the config file, else \
            http://127.0.0.1:8003. The admin key comes from SAAS_ADMIN_KEY or `admin_key`, a team \
            key (for `submit`) from SAAS_TEAM_KEY or `team_key`. The config file (--config, default \
            ~/.config/saasctl/config) holds `key = value` lines; one that holds a key must not be \
            accessible by group or others (chmod 600). Keys are never printed, except the one \
            `teams create` (or `teams rotate-key`) mints, once.

            Every read takes --json (the API's answer, pretty, keys sorted); lists take --limit, \
            --cursor and --all.

            Exit codes:
              0  ok
              1  the API refused the request (4xx); its `detail` is printed on stderr
              2  usage error (bad arguments or options, unusable config file or key)
              3  the API is unreachable, failed (5xx), too slow, or its answer unreadable
              4  authentication failed (401, a suspended team's 403) or no key configured
            """,
        subcommands: [
            OrgsCommand.self, TeamsCommand.self, CreditsCommand.self, ModelGroupsCommand.self, ProvidersCommand.self,
            JobsCommand.self, QueueCommand.self, WorkersCommand.self, SubmitCommand.self,
        ]
    )

    static func main() async {
        // A reader that goes away (`saasctl jobs list | head`) must not kill the process mid-write.
        signal(SIGPIPE, SIG_IGN)
        let code: ExitStatus
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
            code = .ok
        } catch {
            let (status, message) = outcome(of: error)
            if !message.isEmpty {
                status == .ok ? Terminal.out(message) : Terminal.err(message)
            }
            terminate(status)
        }
        terminate(code)
    }

    private static func terminate(_ status: ExitStatus) -> Never {
        #if canImport(Glibc)
        Glibc.exit(status.rawValue)
        #else
        Darwin.exit(status.rawValue)
        #endif
    }

    /// The exit code and message of whatever ended a command: ours, or ArgumentParser's (help
    /// and version are 0; its usage errors, 64 by its own convention, are 2 here).
    static func outcome(of error: any Error) -> (ExitStatus, String) {
        if let failure = error as? CommandFailure {
            return (failure.status, "saasctl: " + Sanitized.lines(failure.message))
        }
        if let exitCode = error as? ExitCode {
            return (ExitStatus(rawValue: exitCode.rawValue) ?? .unavailable, "")
        }
        let code = exitCode(for: error)
        let message = fullMessage(for: error)
        if code == .success { return (.ok, message) }
        return (.usage, message)
    }
}
