import ArgumentParser
import Foundation

/// Where the API is and how long to wait for it: the options every command takes.
struct ConnectionOptions: ParsableArguments {
    static let defaultURL = "http://127.0.0.1:8003"

    @Option(help: "The API's base URL (else SAASCTL_URL, the config file's `url`, \(defaultURL)).")
    var url: String?

    @Option(help: "Config file of `key = value` lines: url, admin_key, team_key (default ~/.config/saasctl/config).")
    var config: String?

    @Option(name: .customLong("request-timeout"), help: "Seconds to wait for any one answer (1–600).")
    var requestTimeout: Int = 30

    func validate() throws {
        guard (1...600).contains(requestTimeout) else { throw ValidationError("--request-timeout must be between 1 and 600 seconds") }
    }

    /// The settings from these options, the environment and the config file, in that order.
    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws(CommandFailure) -> Settings {
        let path = config ?? Self.defaultConfigPath(environment)
        let file = try path.flatMap { path throws(CommandFailure) in try ConfigFile.load(path: path, required: config != nil) }
        let rawURL = url ?? environment["SAASCTL_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? file?.url ?? Self.defaultURL
        return Settings(
            baseURL: try BaseURL(rawURL),
            adminKey: try Self.key(environment, "SAAS_ADMIN_KEY", else: file?.adminKey, fileKey: "admin_key", path: path),
            teamKey: try Self.key(environment, "SAAS_TEAM_KEY", else: file?.teamKey, fileKey: "team_key", path: path),
            requestTimeout: .seconds(requestTimeout)
        )
    }

    /// A key from the environment variable `variable`, else from the config file; refused (exit
    /// 2) when it holds anything but visible ASCII. A key goes into a header, and a control
    /// character there — a `\r` left by a file with CRLF line ends, say — would be refused by
    /// the HTTP client with the value in its error; the refusal here names where the key came
    /// from, never the key.
    static func key(
        _ environment: [String: String],
        _ variable: String,
        else fromFile: String?,
        fileKey: String,
        path: String?
    ) throws(CommandFailure) -> String? {
        if let value = environment[variable], !value.isEmpty {
            guard isSendableKey(value) else {
                throw .usage("the environment variable \(variable) holds a character a key cannot have (\(keyRule)); fix the variable")
            }
            return value
        }
        guard let fromFile else { return nil }
        guard isSendableKey(fromFile) else {
            throw .usage("`\(fileKey)` in config file \(path ?? "?") holds a character a key cannot have (\(keyRule)); fix the file")
        }
        return fromFile
    }

    static let keyRule = "only visible ASCII: no space, tab, carriage return or other control character"

    /// Whether every byte of `key` is visible ASCII (0x21–0x7E): what an API key is made of, and
    /// safe in any header.
    static func isSendableKey(_ key: String) -> Bool {
        key.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// `$XDG_CONFIG_HOME/saasctl/config`, else `$HOME/.config/saasctl/config`; nil without either.
    static func defaultConfigPath(_ environment: [String: String]) -> String? {
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return xdg + "/saasctl/config" }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.config/saasctl/config"
    }
}

/// What a command needs to talk to the API. The keys are never printed or put in a message.
struct Settings: Sendable {
    var baseURL: BaseURL
    var adminKey: String?
    var teamKey: String?
    var requestTimeout: Duration

    func requireAdminKey() throws(CommandFailure) -> String {
        guard let adminKey else {
            throw CommandFailure(.authFailed, "no admin key: set SAAS_ADMIN_KEY or `admin_key` in the config file")
        }
        return adminKey
    }

    func requireTeamKey() throws(CommandFailure) -> String {
        guard let teamKey else {
            throw CommandFailure(.authFailed, "no team key: set SAAS_TEAM_KEY or `team_key` in the config file")
        }
        return teamKey
    }
}

/// The API's base URL: http or https, a host, an optional port and path prefix.
struct BaseURL: Sendable, Equatable, CustomStringConvertible {
    let text: String

    init(_ raw: String) throws(CommandFailure) {
        var trimmed = raw.trimmingWhitespace()
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
            components.query == nil, components.fragment == nil, components.user == nil, components.password == nil
        else {
            throw .usage("the API URL must be http(s)://host[:port][/prefix], without credentials or a query")
        }
        text = trimmed
    }

    /// The full URL of an API path (`/api/teams`) with its query, each value percent-encoded.
    func url(_ path: String, query: [(String, String)] = []) -> String {
        var result = text + path
        if !query.isEmpty {
            result += "?" + query.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        }
        return result
    }

    /// A path segment or query value, percent-encoded (unreserved characters only stay).
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    var description: String { text }
}
