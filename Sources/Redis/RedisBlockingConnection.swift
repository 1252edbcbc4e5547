import DedicatedThreads
import Synchronization

/// A Redis connection of its own, without a read timeout, for one caller at a time to wait in a
/// blocking command (`BLMOVE`, `BZPOPMIN`, …) — how idle workers wait for work without polling.
///
/// Cancelling the waiting task unblocks the command at once with `CLIENT UNBLOCK`, sent over the
/// pooled client, so shutdown never waits for a block to time out.
public final class RedisBlockingConnection: Sendable {
    private enum State {
        case idle
        case waiting(clientID: Int?)
        case cancelled
    }

    private let connection: RedisConnection
    private let client: RedisClient
    private let state = Mutex(State.idle)

    init(connection: RedisConnection, client: RedisClient) {
        self.connection = connection
        self.client = client
    }

    deinit {
        connection.thread.submit { [connection] in connection.close() }
        connection.thread.stop()
    }

    /// Sends one command and waits for its reply, however long it takes. Throws
    /// `CancellationError` when the task is cancelled while waiting.
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        try Task.checkCancellation()
        state.withLock { $0 = .idle }  // one caller at a time: a previous call's cancellation is over
        client.countRoundTrip()
        let reply: RedisValue = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RedisValue, any Error>) in
                let submitted = connection.thread.submit { [self] in
                    continuation.resume(with: Result { try self.executeOnThread(command) })
                }
                if !submitted { continuation.resume(throwing: RedisError.shutdown) }
            }
        } onCancel: {
            let clientID: Int?? = state.withLock { state in
                defer { state = .cancelled }
                if case .waiting(let id) = state { return .some(id) }
                return .none
            }
            if let clientID, let clientID {
                Task { [client] in _ = try? await client.send("CLIENT", "UNBLOCK", RedisArgument(clientID)) }
            }
        }
        try Task.checkCancellation()
        return try reply.throwingError()
    }

    /// Sends a command built from its name and arguments; see ``send(_:)-(RedisCommand)``.
    public func send(_ name: String, _ arguments: RedisArgument...) async throws -> RedisValue {
        try await send(RedisCommand(name, arguments))
    }

    /// Runs on the connection's thread: connects, publishes the connection's id so that a
    /// cancellation can unblock it, then blocks in the command.
    private func executeOnThread(_ command: RedisCommand) throws -> RedisValue {
        try connection.connectIfNeeded()
        let proceed = state.withLock { state in
            if case .cancelled = state { return false }
            state = .waiting(clientID: connection.clientID)
            return true
        }
        guard proceed else { throw CancellationError() }
        defer {
            state.withLock { state in
                if case .waiting = state { state = .idle }
            }
        }
        return try connection.execute(command)
    }
}
