import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One server-sent event as a client dispatches it (WHATWG `text/event-stream`).
struct SSEEvent: Sendable, Equatable {
    /// The `id:` field of this event, if it had one.
    var id: String?
    /// The `event:` field; nil is a `message`.
    var event: String?
    /// The `data:` lines, joined with line feeds.
    var data: String

    /// `data` as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]) ?? [:]
    }
}

/// A minimal SSE client over a raw socket, so that a test can read a stream event by event and
/// leave in the middle of it (the in-process test client buffers whole answers).
///
/// ```swift
/// let stream = try await SSEConnection.open(port: port, method: "POST", path: "/api/…", headers: [...], body: json)
/// let first = try await stream.next()   // nil when the stream ended
/// stream.close()                        // the server sees the client leave
/// ```
///
/// The socket is read by a thread of its own (blocking `recv`), never by the Swift concurrency
/// pool — the API under test runs in the same process and needs those threads. A watchdog closes
/// the connection after `timeout`, so a stream that never ends fails the test instead of hanging it.
final class SSEConnection {
    /// The answer's status code and headers (names lowercased).
    let status: Int
    let headers: [String: String]
    /// `: …` comment lines seen so far (keep-alives).
    private(set) var comments = 0

    private let socket: SocketBytes
    private let chunked: Bool
    private var remainingLength: Int?
    /// Raw bytes read but not yet parsed.
    private var raw: [UInt8]
    /// Body bytes (de-chunked) not yet split into lines.
    private var body: [UInt8] = []
    private var bodyEnded = false

    private init(socket: SocketBytes, status: Int, headers: [String: String], rest: [UInt8]) {
        self.socket = socket
        self.status = status
        self.headers = headers
        self.raw = rest
        self.chunked = headers["transfer-encoding"]?.lowercased().contains("chunked") == true
        self.remainingLength = headers["content-length"].flatMap { Int($0) }
    }

    /// Connects to the API on `localhost:port`, sends the request and reads the answer's head.
    static func open(
        port: Int,
        method: String = "GET",
        path: String,
        headers: [String: String] = [:],
        body: String? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> SSEConnection {
        let socket = try SocketBytes.connect(port: port)
        var request = "\(method) \(path) HTTP/1.1\r\nHost: localhost:\(port)\r\nAccept: text/event-stream\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        if let body {
            request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        } else {
            request += "\r\n"
        }
        socket.start(timeout: timeout)
        do { try socket.send(Array(request.utf8)) } catch {
            socket.close()
            throw error
        }
        var raw: [UInt8] = []
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while true {
            if let end = raw.firstRange(of: separator) {
                let head = String(decoding: raw[..<end.lowerBound], as: UTF8.self)
                let rest = Array(raw[end.upperBound...])
                var lines = head.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
                    socket.close()
                    throw HarnessError.http("bad status line: \(head)")
                }
                var fields: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let name = line[..<colon].lowercased()
                    fields[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                return SSEConnection(socket: socket, status: status, headers: fields, rest: rest)
            }
            guard let more = await socket.read() else {
                socket.close()
                throw HarnessError.http("connection closed before the answer's head")
            }
            raw += more
        }
    }

    /// The next event; nil once the stream ended (or the connection was closed).
    func next() async throws -> SSEEvent? {
        var id: String?
        var event: String?
        var data: [String] = []
        var fields = false
        while let line = await nextLine() {
            if line.isEmpty {
                if fields && (!data.isEmpty || event != nil) {
                    return SSEEvent(id: id, event: event, data: data.joined(separator: "\n"))
                }
                id = nil
                event = nil
                data = []
                fields = false
                continue
            }
            if line.hasPrefix(":") {
                comments += 1
                continue
            }
            let name: Substring
            var value: Substring
            if let colon = line.firstIndex(of: ":") {
                name = line[..<colon]
                value = line[line.index(after: colon)...]
                if value.hasPrefix(" ") { value = value.dropFirst() }
            } else {
                name = line[...]
                value = ""
            }
            fields = true
            switch name {
            case "id": id = String(value)
            case "event": event = String(value)
            case "data": data.append(String(value))
            default: break
            }
        }
        return nil
    }

    /// Events until `stop` says the last one read is enough (it is included), or the stream ends.
    func events(until stop: (SSEEvent) -> Bool = { _ in false }) async throws -> [SSEEvent] {
        var events: [SSEEvent] = []
        while let event = try await next() {
            events.append(event)
            if stop(event) { break }
        }
        return events
    }

    /// Reads on until `count` comments (keep-alives) were seen in all, dropping any event read
    /// meanwhile; false when the stream ended first.
    func waitForComments(_ count: Int) async -> Bool {
        while comments < count {
            guard let line = await nextLine() else { return false }
            if line.hasPrefix(":") { comments += 1 }
        }
        return true
    }

    /// The whole body as text (for answers that are not event streams: a 403, a 429).
    func text() async -> String {
        var bytes: [UInt8] = []
        while let chunk = await nextBodyBytes() { bytes += chunk }
        bytes = body + bytes
        body = []
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The body as a JSON object (empty when it is not one).
    func json() async -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(await text().utf8)) as? [String: Any]) ?? [:]
    }

    /// Leaves: the socket is shut down, so the server's next write to it fails.
    func close() {
        socket.close()
    }

    /// The next line of the body (without its line break), nil at the end.
    private func nextLine() async -> String? {
        while true {
            if let newline = body.firstIndex(of: UInt8(ascii: "\n")) {
                var line = body[..<newline]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                let text = String(decoding: line, as: UTF8.self)
                body.removeSubrange(...newline)
                return text
            }
            guard let more = await nextBodyBytes() else { return nil }
            body += more
        }
    }

    /// The next piece of the body, de-chunked; nil at its end.
    private func nextBodyBytes() async -> [UInt8]? {
        guard !bodyEnded else { return nil }
        if chunked {
            guard let sizeLine = await rawLine(), let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
                bodyEnded = true
                return nil
            }
            if size == 0 {
                bodyEnded = true
                return nil
            }
            guard let chunk = await rawBytes(size) else {
                bodyEnded = true
                return nil
            }
            _ = await rawLine()
            return chunk
        }
        if let remaining = remainingLength {
            guard remaining > 0 else {
                bodyEnded = true
                return nil
            }
            if raw.isEmpty, !(await fill()) {
                bodyEnded = true
                return nil
            }
            let piece = Array(raw.prefix(remaining))
            raw.removeFirst(piece.count)
            remainingLength = remaining - piece.count
            return piece
        }
        if raw.isEmpty, !(await fill()) {
            bodyEnded = true
            return nil
        }
        defer { raw = [] }
        return raw
    }

    /// A CRLF-ended line of the raw bytes (chunk framing).
    private func rawLine() async -> String? {
        while true {
            if let end = raw.firstRange(of: [UInt8(ascii: "\r"), UInt8(ascii: "\n")]) {
                let line = String(decoding: raw[..<end.lowerBound], as: UTF8.self)
                raw.removeSubrange(..<end.upperBound)
                return line
            }
            guard await fill() else { return nil }
        }
    }

    private func rawBytes(_ count: Int) async -> [UInt8]? {
        while raw.count < count {
            guard await fill() else { return nil }
        }
        let bytes = Array(raw.prefix(count))
        raw.removeFirst(count)
        return bytes
    }

    private func fill() async -> Bool {
        guard let more = await socket.read() else { return false }
        raw += more
        return true
    }

    deinit {
        socket.close()
    }
}

/// A connected socket whose bytes a thread of its own reads into a buffer that async callers
/// take from.
final class SocketBytes: Sendable {
    private struct State {
        var chunks: [[UInt8]] = []
        var ended = false
        /// `close()` was called: the connection is shut down.
        var closed = false
        /// The reading thread closed the descriptor (its number may be reused: never touch it again).
        var released = false
        var reader: CheckedContinuation<[UInt8]?, Never>?
    }

    private let fd: Int32
    private let state = Mutex(State())

    private init(fd: Int32) {
        self.fd = fd
    }

    /// Connects to `localhost:port`, trying each address the name resolves to (the API may
    /// listen on `127.0.0.1` or `::1`).
    static func connect(port: Int) throws -> SocketBytes {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo("localhost", String(port), &hints, &list) == 0 else { throw HarnessError.http("getaddrinfo") }
        defer { freeaddrinfo(list) }
        var entry = list
        while let address = entry {
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            if fd >= 0 {
                if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return SocketBytes(fd: fd) }
                Glibc.close(fd)
            }
            entry = address.pointee.ai_next
        }
        throw HarnessError.http("could not connect to localhost:\(port)")
    }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HarnessError.http("send") }
            sent += n
        }
    }

    /// Starts the reading thread, and a watchdog that closes the socket after `timeout`.
    func start(timeout: Duration) {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                deliver(Array(buffer[0..<n]))
            }
            deliver(nil)
            state.withLock { state in
                state.released = true
                Glibc.close(fd)
            }
        }
        thread.start()
        Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.close()
        }
    }

    /// The next bytes read; nil once the connection ended.
    func read() async -> [UInt8]? {
        await withCheckedContinuation { continuation in
            let now: [UInt8]?? = state.withLock { state in
                if !state.chunks.isEmpty { return .some(state.chunks.removeFirst()) }
                if state.ended { return .some(nil) }
                state.reader = continuation
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    /// Shuts the connection down (the reading thread then ends and closes the descriptor).
    func close() {
        state.withLock { state in
            guard !state.closed, !state.released else { return }
            state.closed = true
            _ = shutdown(fd, Int32(SHUT_RDWR))
        }
    }

    private func deliver(_ bytes: [UInt8]?) {
        let reader = state.withLock { state -> CheckedContinuation<[UInt8]?, Never>? in
            if let bytes { state.chunks.append(bytes) } else { state.ended = true }
            defer { state.reader = nil }
            return state.reader
        }
        guard let reader else { return }
        let next: [UInt8]? = state.withLock { state in
            if !state.chunks.isEmpty { return state.chunks.removeFirst() }
            return nil
        }
        reader.resume(returning: next)
    }
}
