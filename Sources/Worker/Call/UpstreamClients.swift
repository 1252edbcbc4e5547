import AsyncHTTPClient
import Synchronization

/// The HTTP clients upstream calls go out on: one connection pool per ``shardConnections``
/// connections the worker may hold, each call taking the next pool in turn.
///
/// A call holds an HTTP/1.1 connection for as long as the upstream takes, so a worker at a high
/// concurrency against a slow upstream holds thousands. async-http-client's pool copies its
/// array of connection states on every connection event, so one pool's cost per event grows
/// with its size: with 3,700 connections open in the slow-upstream benchmark, creating them took
/// a tenth of the worker's CPU. Pools of at most ``shardConnections`` keep that cost flat; a
/// worker at the default concurrency has one.
struct UpstreamClients: Sendable {
    /// The most connections one pool holds.
    static let shardConnections = 512

    let clients: [HTTPClient]
    private let turn = Turn()

    init(_ clients: [HTTPClient]) {
        precondition(!clients.isEmpty, "at least one client")
        self.clients = clients
    }

    /// Pools for `connections` connections in all, each made by `make` with its share.
    init(connections: Int, make: (_ perPool: Int) -> HTTPClient) {
        let pools = max(1, (connections + Self.shardConnections - 1) / Self.shardConnections)
        let perPool = (connections + pools - 1) / pools
        self.init((0..<pools).map { _ in make(max(1, perPool)) })
    }

    /// The client for the next call.
    func next() -> HTTPClient {
        clients.count == 1 ? clients[0] : clients[turn.next() % clients.count]
    }

    /// Shuts every pool down, even when one fails to; throws the first failure.
    func shutdown() async throws {
        var failure: (any Error)?
        for client in clients {
            do { try await client.shutdown() } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    private final class Turn: Sendable {
        private let value = Atomic<Int>(0)

        func next() -> Int {
            value.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max
        }
    }
}
