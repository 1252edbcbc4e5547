import CHiredis
import DedicatedThreads
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One hiredis connection. Every method blocks and must run on `thread` (asserted in debug
/// builds); ``RedisClient`` and ``RedisBlockingConnection`` are the async faces over it.
/// The only file that touches hiredis's C types.
final class RedisConnection: @unchecked Sendable {
    let configuration: RedisConfiguration
    let thread: DedicatedThread
    /// Read timeout in seconds; nil for connections that wait in blocking commands.
    private let readTimeout: Double?
    private var context: UnsafeMutablePointer<redisContext>?
    /// The server's id of this connection (`CLIENT ID`), for `CLIENT UNBLOCK`.
    private(set) var clientID: Int?

    init(configuration: RedisConfiguration, readTimeout: Double?, thread: DedicatedThread) {
        self.configuration = configuration
        self.readTimeout = readTimeout
        self.thread = thread
    }

    deinit {
        if let context { redisFree(context) }
    }

    /// Runs the commands of several callers as one pipeline: writes them all, then reads the
    /// replies in order. Returns one result per caller. A broken connection fails the callers whose
    /// replies were not read and is replaced on the next call.
    func execute(_ batch: [[RedisCommand]]) -> [Result<[RedisValue], RedisError>] {
        thread.assertCurrent()
        do {
            try connectIfNeeded()
        } catch {
            return Array(repeating: .failure(error), count: batch.count)
        }
        guard let context else { return Array(repeating: .failure(.connectionLost("no connection")), count: batch.count) }
        for commands in batch {
            for command in commands {
                if append(command, to: context) != REDIS_OK {
                    let error = currentError(context)
                    close()
                    return Array(repeating: .failure(error), count: batch.count)
                }
            }
        }
        var results: [Result<[RedisValue], RedisError>] = []
        results.reserveCapacity(batch.count)
        for (index, commands) in batch.enumerated() {
            var replies: [RedisValue] = []
            replies.reserveCapacity(commands.count)
            for _ in commands {
                var raw: UnsafeMutableRawPointer?
                if redisGetReply(context, &raw) != REDIS_OK || raw == nil {
                    let error = currentError(context)
                    if let raw { freeReplyObject(raw) }
                    close()
                    results.append(contentsOf: Array(repeating: .failure(error), count: batch.count - index))
                    return results
                }
                let reply = raw!.assumingMemoryBound(to: redisReply.self)
                replies.append(Self.decode(reply))
                freeReplyObject(raw)
            }
            results.append(.success(replies))
        }
        return results
    }

    /// Runs one command on this connection.
    func execute(_ command: RedisCommand) throws(RedisError) -> RedisValue {
        try execute([[command]])[0].get()[0]
    }

    /// Sends a command without reading its reply (`SUBSCRIBE`: the replies come as messages).
    func send(_ command: RedisCommand) throws(RedisError) {
        thread.assertCurrent()
        try connectIfNeeded(healthCheck: false)
        guard let context else { throw .connectionLost("no connection") }
        guard append(command, to: context) == REDIS_OK else {
            let error = currentError(context)
            close()
            throw error
        }
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else {
                let error = currentError(context)
                close()
                throw error
            }
        }
    }

    /// Waits for the next reply or pushed message (subscriptions), however long it takes.
    func readReply() throws(RedisError) -> RedisValue {
        thread.assertCurrent()
        guard let context else { throw .connectionLost("no connection") }
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            let error = currentError(context)
            close()
            throw error
        }
        defer { freeReplyObject(raw) }
        return Self.decode(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// The socket, for ``interrupt(socket:)`` from another thread.
    var socket: Int32? { context?.pointee.fd }

    /// Wakes a thread blocked reading `socket` (it sees the connection closed). The only call
    /// made from outside the connection's thread: `shutdown(2)` on a descriptor is thread-safe,
    /// and the descriptor stays open until the owning thread frees the context.
    static func interrupt(socket: Int32) {
        _ = Glibc.shutdown(socket, Int32(SHUT_RDWR))
    }

    /// Drops the connection; the next command connects again.
    func close() {
        if let context { redisFree(context) }
        context = nil
        clientID = nil
    }

    /// True when connected and the socket has nothing unexpected to read. A peer that closed the
    /// connection while it sat idle (`CLIENT KILL`, a restart, an idle timeout) shows up as a
    /// readable socket; noticing it here replaces the connection before a command is lost on it.
    private var isHealthy: Bool {
        guard let context, context.pointee.err == 0 else { return false }
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, 0)
        return ready == 0
    }

    func connectIfNeeded(healthCheck: Bool = true) throws(RedisError) {
        thread.assertCurrent()
        if context != nil {
            if !healthCheck || isHealthy { return }
            close()
        }
        let timeout = Self.timeval(seconds: configuration.connectTimeout)
        guard let newContext = redisConnectWithTimeout(configuration.host, Int32(configuration.port), timeout) else {
            throw .connectFailed("cannot allocate a hiredis context")
        }
        if newContext.pointee.err != 0 {
            let message = Self.errorString(newContext)
            redisFree(newContext)
            throw .connectFailed("\(configuration.host):\(configuration.port): \(message)")
        }
        if let readTimeout {
            _ = redisSetTimeout(newContext, Self.timeval(seconds: readTimeout))
        }
        _ = redisEnableKeepAlive(newContext)
        context = newContext
        do {
            if let password = configuration.password {
                var arguments: [RedisArgument] = []
                if let username = configuration.username { arguments.append(RedisArgument(username)) }
                arguments.append(RedisArgument(password))
                _ = try executeSetup(RedisCommand("AUTH", arguments))
            }
            if configuration.database != 0 {
                _ = try executeSetup(RedisCommand("SELECT", RedisArgument(configuration.database)))
            }
            if readTimeout == nil {
                clientID = try executeSetup(RedisCommand("CLIENT", "ID")).int
            }
        } catch {
            close()
            throw .connectFailed(error.description)
        }
    }

    private func executeSetup(_ command: RedisCommand) throws(RedisError) -> RedisValue {
        guard let context else { throw .connectionLost("no connection") }
        guard append(command, to: context) == REDIS_OK else { throw currentError(context) }
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw currentError(context) }
        defer { freeReplyObject(raw) }
        return try Self.decode(raw.assumingMemoryBound(to: redisReply.self)).throwingError()
    }

    private func append(_ command: RedisCommand, to context: UnsafeMutablePointer<redisContext>) -> Int32 {
        command.bytes.withUnsafeBufferPointer { buffer in
            // hiredis reads `argvlen[i]` bytes from `argv[i]`; an empty argument still needs a
            // valid pointer, hence the one-byte fallback.
            let fallback = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
            defer { fallback.deallocate() }
            let base =
                buffer.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
                ?? UnsafePointer(fallback)
            var pointers: [UnsafePointer<CChar>?] = []
            pointers.reserveCapacity(command.lengths.count)
            var offset = 0
            for length in command.lengths {
                pointers.append(base + offset)
                offset += length
            }
            return pointers.withUnsafeMutableBufferPointer { argv in
                command.lengths.withUnsafeBufferPointer { lengths in
                    redisAppendCommandArgv(context, Int32(command.lengths.count), argv.baseAddress, lengths.baseAddress)
                }
            }
        }
    }

    private func currentError(_ context: UnsafeMutablePointer<redisContext>) -> RedisError {
        let savedErrno = errno
        let message = Self.errorString(context)
        if context.pointee.err == REDIS_ERR_IO && (savedErrno == EAGAIN || savedErrno == EWOULDBLOCK) {
            return .timeout
        }
        if message.contains("temporarily unavailable") { return .timeout }
        return .connectionLost(message)
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: &context.pointee.errstr) { raw in
            String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
    }

    private static func decode(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            return .bulk(bytes(r.str, r.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(r.str, r.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int(r.integer))
        case REDIS_REPLY_ARRAY:
            var values: [RedisValue] = []
            values.reserveCapacity(r.elements)
            for i in 0..<r.elements {
                if let element = r.element[i] { values.append(decode(element)) } else { values.append(.null) }
            }
            return .array(values)
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    private static func timeval(seconds: Double) -> timeval {
        let whole = Int(seconds)
        return Glibc.timeval(tv_sec: whole, tv_usec: Int((seconds - Double(whole)) * 1_000_000))
    }
}
