import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The API over HTTP, as the contract describes it: one request, one bounded answer. Every wait
/// has a deadline and every answer a size limit; whatever goes wrong becomes a
/// ``CommandFailure`` with the exit code scripts expect. Keys go in headers only: no message
/// here ever holds one.
struct APIClient: Sendable {
    /// Who a request speaks for.
    enum Credential: Sendable {
        case admin
        case team
    }

    /// The methods the API's routes use (so that commands need not import NIOHTTP1).
    enum Method: String, Sendable {
        case GET, POST, PUT, PATCH, DELETE

        var http: HTTPMethod { HTTPMethod(rawValue: rawValue) }
    }

    /// An answer: its status and its body, decoded when it is JSON.
    struct Answer: Sendable {
        var status: Int
        var json: JSONValue?
        var byteCount: Int
        /// `Retry-After` in seconds, when sent (429, 503).
        var retryAfter: Int? = nil

        /// The API's `detail` sentence, or a stand-in naming the status.
        var detail: String {
            if let detail = json?[path: "detail"]?.stringValue { return detail }
            return byteCount == 0 ? "HTTP \(status) without a body" : "HTTP \(status) (the answer is not the API's JSON)"
        }

        /// The exit code this answer asks for; nil for a success.
        var exitStatus: ExitStatus? {
            ExitStatus.forHTTPStatus(status, detail: json?[path: "detail"]?.stringValue)
        }
    }

    /// The most an answer may hold: far above any page of 100 rows.
    static let maxAnswerBytes = 16 << 20

    let settings: Settings
    let http: HTTPClient

    /// Runs `body` with a client of its own, shut down afterwards however `body` ends.
    static func with<T: Sendable>(_ settings: Settings, _ body: (APIClient) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration()
        // A redirect would carry the admin key elsewhere: never followed.
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(10))
        // A refused connection is an answer for a command line (exit 3 at once), not something to
        // retry until the connect timeout; `submit` retries on its own.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.httpVersion = .http1Only
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let client = APIClient(settings: settings, http: http)
        do {
            let value = try await body(client)
            try? await http.shutdown()
            return value
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// Sends a request and returns its answer, whatever its status. Throws only when there is no
    /// usable answer (unreachable, too slow, too large).
    func send(
        _ method: Method,
        _ path: String,
        query: [(String, String)] = [],
        json: JSONValue? = nil,
        body: (contentType: String, bytes: ByteBuffer)? = nil,
        headers extra: [(String, String)] = [],
        as credential: Credential = .admin,
        timeout: Duration? = nil
    ) async throws(CommandFailure) -> Answer {
        var request = HTTPClientRequest(url: settings.baseURL.url(path, query: query))
        request.method = method.http
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "saasctl")
        switch credential {
        case .admin: request.headers.add(name: "X-Admin-Key", value: try settings.requireAdminKey())
        case .team: request.headers.add(name: "Authorization", value: "Bearer \(try settings.requireTeamKey())")
        }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: json.compact))
        } else if let body {
            request.headers.add(name: "Content-Type", value: body.contentType)
            request.body = .bytes(body.bytes)
        }
        let limit = timeout ?? settings.requestTimeout
        let http = self.http
        let sent = request
        do {
            return try await Deadline.run(limit) {
                let response = try await http.execute(sent, timeout: .seconds(Int64(limit.components.seconds) + 1))
                let bytes = try await response.body.collect(upTo: Self.maxAnswerBytes)
                let json = bytes.readableBytes == 0 ? nil : JSONValue.parse(bytes.readableBytesView)
                let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0) }.map { min(max($0, 0), 600) }
                return Answer(status: Int(response.status.code), json: json, byteCount: bytes.readableBytes, retryAfter: retryAfter)
            }
        } catch {
            throw Self.failure(for: error, url: settings.baseURL, waited: limit, secrets: [settings.adminKey, settings.teamKey])
        }
    }

    /// Sends a request and returns its JSON answer; any status but 2xx, or a 2xx that is not
    /// JSON, is thrown as the ``CommandFailure`` of its class.
    func call(
        _ method: Method,
        _ path: String,
        query: [(String, String)] = [],
        json: JSONValue? = nil,
        headers: [(String, String)] = [],
        as credential: Credential = .admin,
        timeout: Duration? = nil
    ) async throws(CommandFailure) -> JSONValue {
        let answer = try await send(method, path, query: query, json: json, headers: headers, as: credential, timeout: timeout)
        return try Self.checked(answer)
    }

    /// A 2xx answer's JSON, else the failure its status means.
    static func checked(_ answer: Answer) throws(CommandFailure) -> JSONValue {
        if let status = answer.exitStatus {
            switch status {
            case .unavailable where answer.status >= 500: throw .unavailable("the API failed (HTTP \(answer.status)): \(answer.detail)")
            case .unavailable: throw .unavailable("unexpected answer from the API: HTTP \(answer.status)")
            default: throw CommandFailure(status, answer.detail)
            }
        }
        guard let json = answer.json else { throw .unavailable("the API's answer (HTTP \(answer.status)) is not JSON") }
        return json
    }

    /// The failure a transport error means: all of them are exit code 3. An `HTTPClientError` is
    /// told by ``TransportErrorSentence`` only (its description may hold a header value: a key);
    /// any other error's description has the keys in `secrets` blanked out, in case one quotes
    /// the request.
    static func failure(for error: any Error, url: BaseURL, waited: Duration, secrets: [String?] = []) -> CommandFailure {
        if let failure = error as? CommandFailure { return failure }
        let where_ = url.description
        if error is Deadline.Exceeded {
            return .unavailable("the API at \(where_) did not answer within \(waited.components.seconds) s")
        }
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded, .readTimeout:
                return .unavailable("the API at \(where_) did not answer within \(waited.components.seconds) s")
            case .connectTimeout: return .unavailable("cannot reach the API at \(where_): connection timed out")
            default: return .unavailable("no answer from the API at \(where_): \(TransportErrorSentence.of(client))")
            }
        }
        if error is NIOTooManyBytesError {
            return .unavailable("the API's answer is larger than \(Self.maxAnswerBytes >> 20) MiB; refusing to read it")
        }
        if let io = error as? IOError {
            return .unavailable("cannot reach the API at \(where_): \(String(cString: strerror(io.errnoCode)).lowercased())")
        }
        var text = String(describing: error)
        for secret in secrets.compactMap({ $0 }) where !secret.isEmpty {
            text = text.replacingOccurrences(of: secret, with: "[key]")
        }
        return .unavailable("cannot reach the API at \(where_): \(Sanitized.text(text, maxWidth: 200))")
    }
}

/// One bound on a whole exchange, body included.
enum Deadline {
    struct Exceeded: Error {}

    /// `operation`'s result, or ``Exceeded`` once `limit` has passed (the operation is cancelled).
    static func run<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw Exceeded() }
            return value
        }
    }
}
