import DedicatedThreads
import Foundation
public import Logging
import Synchronization

/// A Redis pub/sub subscription on a connection and thread of its own, delivering messages as an
/// async stream. A dropped connection is re-established and re-subscribed; messages published
/// meanwhile are lost, so subscribers treat a message as a hint to look, never as the only way
/// to learn something (a long poll re-reads PostgreSQL at its deadline).
public final class RedisSubscription: Sendable {
    public struct Message: Sendable {
        public var channel: String
        public var payload: String
    }

    private struct State {
        var stopped = false
        var socket: Int32?
    }

    private let deliver: @Sendable (Message) -> Void
    private let finish: @Sendable () -> Void
    private let connection: RedisConnection
    private let state = Mutex(State())
    private let logger: Logger

    /// Subscribes to `channels` and returns what `decode` makes of each message (a message may
    /// carry several elements, or none worth passing on). The subscription lives as long as the
    /// stream is iterated: when its consumer stops — the loop ends, or its task is cancelled —
    /// the connection is closed. Up to 10,000 elements wait for a slow consumer; past that the
    /// oldest are dropped, as hints may be.
    public static func stream<Element: Sendable>(
        configuration: RedisConfiguration,
        channels: [String],
        logger: Logger = Logger(label: "redis-subscription"),
        decode: @escaping @Sendable (Message) -> [Element]
    ) -> AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(of: Element.self, bufferingPolicy: .bufferingNewest(10_000))
        let subscription = RedisSubscription(
            configuration: configuration,
            channels: channels,
            logger: logger,
            deliver: { message in
                for element in decode(message) { continuation.yield(element) }
            },
            finish: { continuation.finish() }
        )
        continuation.onTermination = { _ in subscription.stop() }
        return stream
    }

    private init(
        configuration: RedisConfiguration,
        channels: [String],
        logger: Logger,
        deliver: @escaping @Sendable (Message) -> Void,
        finish: @escaping @Sendable () -> Void
    ) {
        connection = RedisConnection(configuration: configuration, readTimeout: nil, thread: DedicatedThread(name: "redis-subscribe"))
        self.logger = logger
        self.deliver = deliver
        self.finish = finish
        connection.thread.submit { [self] in self.loop(channels) }
    }

    deinit {
        stop()
    }

    /// Ends the subscription and its stream.
    func stop() {
        let socket: Int32? = state.withLock { state in
            state.stopped = true
            return state.socket
        }
        if let socket { RedisConnection.interrupt(socket: socket) }
        connection.thread.stop()
    }

    /// Runs on the subscription's thread until stopped.
    private func loop(_ channels: [String]) {
        while !state.withLock({ $0.stopped }) {
            do {
                try connection.send(RedisCommand("SUBSCRIBE", channels.map { RedisArgument($0) }))
                let stopped = state.withLock { state in
                    state.socket = connection.socket
                    return state.stopped
                }
                if stopped { break }
                while true {
                    let reply = try connection.readReply()
                    guard case .array(let parts) = reply, parts.count == 3, parts[0].string == "message" else { continue }
                    deliver(Message(channel: parts[1].string ?? "", payload: parts[2].string ?? ""))
                }
            } catch {
                state.withLock { $0.socket = nil }
                connection.close()
                if state.withLock({ $0.stopped }) { break }
                logger.warning("subscription lost; reconnecting", metadata: ["error": "\(error)"])
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        connection.close()
        finish()
    }
}
