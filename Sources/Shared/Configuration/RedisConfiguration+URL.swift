import Foundation
public import Redis

/// `REDIS_URL` read into the client's configuration. It lives with the configuration, not in the
/// `Redis` module: its errors name the variable an operator sets (``ConfigurationError``).
extension RedisConfiguration {
    /// Parses a `redis://` URL. TLS (`rediss://`) is refused: hiredis 0.14 does not speak it (run a
    /// TLS sidecar and point the URL at it).
    public init(url: String) throws(ConfigurationError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme else {
            throw .invalid(variable: "REDIS_URL", reason: "is not a URL (expected redis://host:port/db)")
        }
        guard scheme == "redis" else {
            throw .invalid(variable: "REDIS_URL", reason: "scheme '\(scheme)' is not supported (expected redis://)")
        }
        self.init()
        if let host = components.host, !host.isEmpty { self.host = host }
        if let port = components.port { self.port = port }
        if let user = components.user, !user.isEmpty { self.username = user.removingPercentEncoding ?? user }
        if let password = components.password, !password.isEmpty {
            self.password = password.removingPercentEncoding ?? password
        }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let db = Int(path), db >= 0 else {
                throw .invalid(variable: "REDIS_URL", reason: "database '\(path)' is not a number")
            }
            self.database = db
        }
    }
}
