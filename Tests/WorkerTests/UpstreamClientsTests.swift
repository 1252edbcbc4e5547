import AsyncHTTPClient
import Synchronization
import Testing

@testable import Worker

/// Upstream connections are split over pools of at most 512, and calls take the pools in turn.
@Suite("UpstreamClients: pools of at most 512 connections, taken in turn")
struct UpstreamClientsTests {
    /// The pools made for `connections`, by how many connections each was given.
    private static func pools(for connections: Int) async throws -> (sizes: [Int], clients: UpstreamClients) {
        let sizes = Mutex<[Int]>([])
        let clients = UpstreamClients(connections: connections) { perPool in
            sizes.withLock { $0.append(perPool) }
            return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        }
        return (sizes.withLock { $0 }, clients)
    }

    @Test("the default concurrency is one pool; 5,000 connections are ten pools of 500; none is empty")
    func poolSizes() async throws {
        for (connections, expected) in [(1, [1]), (256, [256]), (512, [512]), (513, [257, 257]), (5_000, Array(repeating: 500, count: 10))] {
            let (sizes, clients) = try await Self.pools(for: connections)
            #expect(sizes == expected, "\(connections) connections")
            #expect(sizes.reduce(0, +) >= connections)
            try await clients.shutdown()
        }
    }

    @Test("calls take the pools in turn, each as often as the others")
    func roundRobin() async throws {
        let (_, clients) = try await Self.pools(for: 2_000)
        #expect(clients.clients.count == 4)
        var counts: [ObjectIdentifier: Int] = [:]
        for _ in 0..<400 { counts[ObjectIdentifier(clients.next()), default: 0] += 1 }
        #expect(counts.count == 4)
        #expect(counts.values.allSatisfy { $0 == 100 })
        try await clients.shutdown()
    }
}
