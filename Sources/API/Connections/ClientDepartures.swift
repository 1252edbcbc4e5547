import NIOCore
import Synchronization

/// Which HTTP connections' clients have gone — closed the connection, or closed their side of it —
/// for the waits that would otherwise outlast them.
///
/// Hummingbird does not cancel a request's handler when its client leaves: a long poll whose
/// client went away kept its wait, and its team's long-poll slot, for up to its minute (ten on
/// the call routes). ``ClientDepartureHandler`` reports each connection's end here; a wait
/// watches its own connection and ends when the client goes. A client that only half-closes
/// after sending its request gets its answer at once, the job as it is, as at a wait's end.
final class ClientDepartures: Sendable {
    private struct Connection {
        var gone = false
        var watchers: [Int: @Sendable () -> Void] = [:]
    }

    private struct State {
        var connections: [ObjectIdentifier: Connection] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    /// Connections open now (for tests).
    var open: Int { state.withLock { $0.connections.count } }

    func opened(_ connection: ObjectIdentifier) {
        state.withLock { $0.connections[connection] = Connection() }
    }

    /// The client stopped sending: its watchers are told, once.
    func departed(_ connection: ObjectIdentifier) {
        let watchers = state.withLock { state -> [@Sendable () -> Void] in
            guard var entry = state.connections[connection], !entry.gone else { return [] }
            entry.gone = true
            let watchers = Array(entry.watchers.values)
            entry.watchers = [:]
            state.connections[connection] = entry
            return watchers
        }
        for watcher in watchers { watcher() }
    }

    /// The connection is closed: told as a departure, then forgotten.
    func closed(_ connection: ObjectIdentifier) {
        departed(connection)
        _ = state.withLock { $0.connections.removeValue(forKey: connection) }
    }

    /// Calls `onDeparture` when the client of `connection` goes — at once if it has gone. Returns
    /// the token to ``unwatch(_:token:)`` with; nil when there is nothing to undo (already gone,
    /// or a connection this registry never saw, as with a router called in-process).
    func watch(_ connection: ObjectIdentifier, _ onDeparture: @escaping @Sendable () -> Void) -> Int? {
        let (token, goneNow) = state.withLock { state -> (Int?, Bool) in
            guard var entry = state.connections[connection] else { return (nil, false) }
            if entry.gone { return (nil, true) }
            state.next += 1
            entry.watchers[state.next] = onDeparture
            state.connections[connection] = entry
            return (state.next, false)
        }
        if goneNow { onDeparture() }
        return token
    }

    func unwatch(_ connection: ObjectIdentifier, token: Int) {
        state.withLock { _ = $0.connections[connection]?.watchers.removeValue(forKey: token) }
    }
}

/// Reports its connection's opening, its client's departure (the read side closed: Hummingbird's
/// server allows half-closure, so a client's close is an `inputClosed` event, not the channel's
/// end) and its close to ``ClientDepartures``. Passes everything on unchanged.
final class ClientDepartureHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny

    private let departures: ClientDepartures

    init(departures: ClientDepartures) {
        self.departures = departures
    }

    func handlerAdded(context: ChannelHandlerContext) {
        departures.opened(ObjectIdentifier(context.channel))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        departures.closed(ObjectIdentifier(context.channel))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent {
            departures.departed(ObjectIdentifier(context.channel))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        departures.closed(ObjectIdentifier(context.channel))
        context.fireChannelInactive()
    }
}
