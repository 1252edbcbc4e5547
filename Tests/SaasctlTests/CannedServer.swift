import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-connection-at-a-time HTTP server on a free loopback port that answers each request with
/// the next canned reply (and `Connection: close`), recording the requests' heads: enough to hold
/// the client to what it does with odd answers — not JSON, huge, slow, error statuses.
final class CannedServer: @unchecked Sendable {
    struct Reply {
        var status = 200
        var body: [UInt8] = []
        /// Seconds to wait before answering.
        var delay: Double = 0
        var headers: [String] = []

        static func json(_ status: Int, _ text: String, headers: [String] = []) -> Reply {
            Reply(status: status, body: Array(text.utf8), headers: ["Content-Type: application/json"] + headers)
        }
    }

    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var heads: [String] = []

    init(_ replies: [Reply]) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        guard bound == 0, listen(listener, 16) == 0 else { throw CannedServerError.cannotListen }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in serve(replies) }
        thread.start()
    }

    /// The request heads received so far (request line and headers).
    var requests: [String] {
        lock.lock()
        defer { lock.unlock() }
        return heads
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve(_ replies: [Reply]) {
        for reply in replies {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            var received = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !received.containsHeadEnd {
                let n = recv(connection, &buffer, buffer.count, 0)
                if n <= 0 { break }
                received += buffer[0..<n]
            }
            // Read the body too: closing a socket with unread bytes resets it under the reply.
            let text = String(decoding: received, as: UTF8.self)
            let declared =
                text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            let headBytes = (text.range(of: "\r\n\r\n").map { text.utf8.distance(from: text.startIndex, to: $0.upperBound) }) ?? received.count
            var bodyBytes = received.count - headBytes
            while bodyBytes < declared {
                let n = recv(connection, &buffer, buffer.count, 0)
                if n <= 0 { break }
                bodyBytes += n
            }
            lock.lock()
            heads.append(text)
            lock.unlock()
            if reply.delay > 0 { Thread.sleep(forTimeInterval: reply.delay) }
            var head = "HTTP/1.1 \(reply.status) X\r\nContent-Length: \(reply.body.count)\r\nConnection: close\r\n"
            for header in reply.headers { head += header + "\r\n" }
            head += "\r\n"
            let bytes = Array(head.utf8) + reply.body
            var sent = 0
            while sent < bytes.count {
                // MSG_NOSIGNAL: a client that hung up must not raise SIGPIPE in the test process.
                let n = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { break }
                sent += n
            }
            close(connection)
        }
    }
}

enum CannedServerError: Error {
    case cannotListen
}

extension [UInt8] {
    fileprivate var containsHeadEnd: Bool {
        guard count >= 4 else { return false }
        for index in 0...(count - 4) where self[index] == 13 && self[index + 1] == 10 && self[index + 2] == 13 && self[index + 3] == 10 {
            return true
        }
        return false
    }
}
