import Foundation
import Redis
import Shared
import Synchronization
import Testing

@testable import API

/// A call stream relayed as SSE: entries written with ``RedisCallStreams`` read back through
/// ``CallEventFeed`` and the process's ``StreamRelay``, on a real Redis.
@Suite("Call stream relay")
struct CallEventFeedTests {
    /// A relay running against its own keys, and the feed on it.
    struct Harness: Sendable {
        let redis: RedisClient
        let streams: RedisCallStreams
        let relay: StreamRelay
        let feed: CallEventFeed

        init(perTeam: Int = 100, pageSize: Int = 500) throws {
            var configuration = try RedisConfiguration(url: TestApp.redisURL)
            configuration.poolSize = 2
            redis = RedisClient(configuration: configuration)
            streams = RedisCallStreams(redis: redis, keys: QueueKeys(name: "cef-\(UUID().uuidString.prefix(8).lowercased())"))
            relay = StreamRelay(streams: streams, limits: .init(perProcess: 1000, perTeam: perTeam))
            var feed = CallEventFeed(streams: streams, relay: relay, keepAlive: .seconds(10))
            feed.safetyTick = .seconds(30)
            feed.pageSize = pageSize
            self.feed = feed
        }

        func run(_ body: @Sendable (Harness) async throws -> Void) async throws {
            let relayTask = Task { try await relay.run() }
            defer {
                relayTask.cancel()
                redis.shutdown()
            }
            // The relay's subscription connects on its own thread.
            try await Task.sleep(for: .milliseconds(200))
            try await body(self)
        }
    }

    static func delta(_ event: ServerSentEvent) -> (text: String, index: Int)? {
        guard event.event == nil, let object = try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any],
            let text = object["delta"] as? String, let index = object["index"] as? Int
        else { return nil }
        return (text, index)
    }

    static let done = ServerSentEvent(event: "done", data: #"{"status": "completed"}"#)

    @Test("live entries as they come, then the final event once the job ended; a reconnect from a middle id gets exactly the rest")
    func liveThenFinal() async throws {
        try await Harness(pageSize: 3).run { harness in
            let id = UUID()
            let ended = Atomic(false)
            let asked = Atomic(0)
            let events = try harness.feed.events(streamID: id, teamID: "t", lastEventID: nil) {
                asked.add(1, ordering: .relaxed)
                return ended.load(ordering: .relaxed) ? Self.done : nil
            }
            #expect(harness.relay.open(teamID: "t") == 1)
            let reader = Task {
                var received: [ServerSentEvent] = []
                for try await event in events { received.append(event) }
                return received
            }
            for index in 0..<10 {
                try await harness.streams.append(id, [.delta("d\(index) ")])
                if index == 4 { try await harness.streams.append(id, [.reset]) }
                try await Task.sleep(for: .milliseconds(10))
            }
            ended.store(true, ordering: .relaxed)
            harness.relay.jobEnded(id)
            let received = try await reader.value
            #expect(received.count == 12, "\(received)")
            let deltas = received.compactMap(Self.delta)
            #expect(deltas.map(\.text) == (0..<10).map { "d\($0) " })
            #expect(deltas.map(\.index) == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
            #expect(received[5].event == "reset")
            let last = try #require(received.last)
            #expect(last.event == "done")
            #expect(last.id == received[10].id)
            // Asked when the stream opened and once per announcement, not per entry.
            #expect(asked.load(ordering: .relaxed) <= 3)
            #expect(harness.relay.open(teamID: "t") == 0)

            // Reconnect after the fourth event: exactly the rest, then the final event.
            let middle = try #require(received[3].id)
            var rest: [ServerSentEvent] = []
            for try await event in try harness.feed.events(streamID: id, teamID: "t", lastEventID: middle, finalEvent: { Self.done }) {
                rest.append(event)
            }
            #expect(rest == Array(received[4...]))

            // Reconnect with the final event's id: the final event again, and nothing else.
            var again: [ServerSentEvent] = []
            for try await event in try harness.feed.events(streamID: id, teamID: "t", lastEventID: last.id, finalEvent: { Self.done }) {
                again.append(event)
            }
            #expect(again == [last])

            // A hostile id reads from the start.
            var all: [ServerSentEvent] = []
            for try await event in try harness.feed.events(streamID: id, teamID: "t", lastEventID: "1-0\r\nDEL x", finalEvent: { Self.done }) {
                all.append(event)
            }
            #expect(all == received)
        }
    }

    @Test("a call that ended without deltas: the final event alone, with id 0-0")
    func noEntries() async throws {
        try await Harness().run { harness in
            var received: [ServerSentEvent] = []
            for try await event in try harness.feed.events(streamID: UUID(), teamID: "t", lastEventID: nil, finalEvent: { Self.done }) {
                received.append(event)
            }
            var expected = Self.done
            expected.id = "0-0"
            #expect(received == [expected])
        }
    }

    @Test("the final event comes after every entry written before the job ended, even those not yet announced")
    func drainsBeforeFinal() async throws {
        try await Harness(pageSize: 2).run { harness in
            let id = UUID()
            try await harness.streams.append(id, (0..<7).map { .delta("\($0)") })
            var received: [ServerSentEvent] = []
            for try await event in try harness.feed.events(streamID: id, teamID: "t", lastEventID: nil, finalEvent: { Self.done }) {
                received.append(event)
            }
            #expect(received.compactMap(Self.delta).map(\.text) == (0..<7).map { "\($0)" })
            #expect(received.last?.event == "done")
        }
    }

    @Test("streams per team and per process are bounded; a dropped stream gives its slot back")
    func bounds() throws {
        let streams = RecordingStreams()
        let relay = StreamRelay(streams: streams, limits: .init(perProcess: 3, perTeam: 2))
        let feed = CallEventFeed(streams: streams, relay: relay, keepAlive: .seconds(10))
        var held: [CallEvents] = []
        held.append(try feed.events(streamID: UUID(), teamID: "a", lastEventID: nil) { nil })
        held.append(try feed.events(streamID: UUID(), teamID: "a", lastEventID: nil) { nil })
        #expect(throws: APIError.teamStreamsFull(limit: 2)) {
            try feed.events(streamID: UUID(), teamID: "a", lastEventID: nil) { nil }
        }
        held.append(try feed.events(streamID: UUID(), teamID: "b", lastEventID: nil) { nil })
        #expect(throws: APIError.streamsFull) {
            try feed.events(streamID: UUID(), teamID: "c", lastEventID: nil) { nil }
        }
        #expect(relay.open() == 3)
        held.removeFirst()
        #expect(relay.open() == 2)
        #expect(relay.open(teamID: "a") == 1)
        _ = try feed.events(streamID: UUID(), teamID: "a", lastEventID: nil) { nil }
        #expect(relay.open() == 2)
    }
}

/// Call streams with nothing in them, for the bounds.
struct RecordingStreams: CallStreams {
    func append(_ streamID: UUID, _ events: [CallStreamEvent]) async throws {}
    func read(_ streamID: UUID, after: String?, limit: Int) async throws -> [CallStreamEntry] { [] }
    func updates() -> AsyncStream<CallStreamUpdate> { AsyncStream { $0.finish() } }
}
