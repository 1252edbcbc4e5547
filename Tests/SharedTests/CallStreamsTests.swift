import Foundation
import Redis
import Synchronization
import Testing

@testable import Shared

/// The call streams on a real Redis: order, exclusive resumption, numbering that survives
/// trimming and resets, the expiry, the wake-ups, and client ids that are not ids.
@Suite("Call streams on Redis")
struct CallStreamsTests {
    static func streams(_ redis: RedisClient, limits: CallStreamLimits = CallStreamLimits()) -> RedisCallStreams {
        RedisCallStreams(redis: redis, keys: QueueKeys(name: "cs-\(UUID().uuidString.prefix(8).lowercased())"), limits: limits)
    }

    @Test("appended deltas read back in order, numbered from 0, in one round trip per append")
    func appendAndRead() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let streams = Self.streams(redis)
        let id = UUID()
        try await streams.append(UUID(), [.delta("loads the script")])
        let before = redis.roundTripCount
        try await streams.append(id, [.delta("Hel"), .delta("lo")])
        // One round trip; two when the script must be loaded again (another suite's test runs
        // `SCRIPT FLUSH` on the same server meanwhile): then the next append takes one.
        var trips = redis.roundTripCount - before
        #expect((1...2).contains(trips))
        let again = redis.roundTripCount
        try await streams.append(id, [.delta(", "), .delta("world")])
        if trips == 2 { trips = redis.roundTripCount - again }
        #expect(trips == 1)
        let entries = try await streams.read(id, after: nil, limit: 100)
        #expect(entries.map(\.event) == [.delta("Hel"), .delta("lo"), .delta(", "), .delta("world")])
        #expect(entries.map(\.index) == [0, 1, 2, 3])
        #expect(Set(entries.map(\.id)).count == 4)
        #expect(try await streams.read(UUID(), after: nil, limit: 100).isEmpty)
    }

    @Test("read after an id is exclusive and bounded by limit; the last id reads nothing")
    func readAfter() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let streams = Self.streams(redis)
        let id = UUID()
        try await streams.append(id, (0..<10).map { .delta("d\($0)") })
        let all = try await streams.read(id, after: nil, limit: 100)
        #expect(all.count == 10)
        let rest = try await streams.read(id, after: all[3].id, limit: 100)
        #expect(rest == Array(all[4...]))
        let page = try await streams.read(id, after: all[3].id, limit: 2)
        #expect(page == Array(all[4...5]))
        #expect(try await streams.read(id, after: all[9].id, limit: 100).isEmpty)
        #expect(try await streams.read(id, after: "0-0", limit: 100) == all)
    }

    @Test("a reset restarts the numbering; a later append goes on from the stream's last entry")
    func resetNumbering() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let streams = Self.streams(redis)
        let id = UUID()
        try await streams.append(id, [.delta("a"), .delta("b")])
        try await streams.append(id, [.reset])
        try await streams.append(id, [.delta("c")])
        try await streams.append(id, [.delta("d")])
        let entries = try await streams.read(id, after: nil, limit: 100)
        #expect(entries.map(\.event) == [.delta("a"), .delta("b"), .reset, .delta("c"), .delta("d")])
        #expect(entries.map(\.index) == [0, 1, 0, 0, 1])
    }

    @Test("trimming to the cap keeps each entry's own index; the stream expires after retention")
    func capAndExpiry() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let streams = Self.streams(redis, limits: CallStreamLimits(cap: 10, retention: .seconds(120), maxEventsPerAppend: 100))
        let id = UUID()
        try await streams.append(id, (0..<500).map { .delta("\($0)") })
        let kept = try await streams.read(id, after: nil, limit: 10_000)
        #expect(kept.count >= 10 && kept.count < 500)
        for entry in kept {
            #expect(entry.event == .delta("\(entry.index)"))
        }
        #expect(kept.last?.index == 499)
        let ttl = try await redis.send("PTTL", RedisArgument(streams.keys.callStream(id))).int ?? -1
        #expect(ttl > 100_000 && ttl <= 120_000)
    }

    @Test("a delta over the size bound is stored as several, cut between characters")
    func longDeltaSplit() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let streams = Self.streams(redis, limits: CallStreamLimits(maxDeltaBytes: 16))
        let id = UUID()
        let text = String(repeating: "é", count: 20) + "x"  // 41 bytes
        try await streams.append(id, [.delta(text)])
        let entries = try await streams.read(id, after: nil, limit: 100)
        #expect(entries.count == 3)
        var joined = ""
        for entry in entries {
            guard case .delta(let piece) = entry.event else { continue }
            #expect(piece.utf8.count <= 16)
            joined += piece
        }
        #expect(joined == text)
        #expect(entries.map(\.index) == [0, 1, 2])
    }

    @Test("a client's id that is not a stream id reads from the start, and reaches nothing else")
    func hostileIDs() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let streams = Self.streams(redis)
        let id = UUID()
        try await streams.append(id, [.delta("a"), .delta("b")])
        let all = try await streams.read(id, after: nil, limit: 100)
        let hostile = [
            "", "-", "+", "abc", "1-", "-1", "1-2-3", "1-2\r\nFLUSHALL", "(1-0", " 1-0", "1-0 ", "99999999999999999999-0",
            String(repeating: "9", count: 5000) + "-0", "1-0\u{0}", "١-٠",
        ]
        for bad in hostile {
            #expect(CallStreamID.validated(bad) == nil, "\(bad.prefix(30))")
            #expect(try await streams.read(id, after: bad, limit: 100) == all)
        }
        #expect(CallStreamID.validated("18446744073709551615-0") != nil)
        #expect(CallStreamID.validated(all[0].id) == all[0].id)
    }

    @Test("each append wakes the subscribers of updates() with the stream's id")
    func updatesWake() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let streams = Self.streams(redis)
        let id = UUID()
        let updates = streams.updates()
        let woken = Task {
            var seen: [UUID] = []
            for await update in updates {
                seen.append(update.streamID)
                if seen.count == 2 { break }
            }
            return seen
        }
        // The subscription connects on its own thread: append until two wake-ups arrived.
        let appender = Task {
            for _ in 0..<100 {
                try await streams.append(id, [.delta("x")])
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        defer { appender.cancel() }
        let seen = await woken.value
        #expect(seen == [id, id])
    }

    @Test("a wake-up carries its append's entries, chained to the entry before them: what the stream holds")
    func updatesCarryEntries() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let streams = Self.streams(redis)
        let id = UUID()
        let updates = streams.updates()
        let subscribed = Mutex(false)
        let collected = Task {
            var seen: [CallStreamUpdate] = []
            for await update in updates where update.streamID == id {
                subscribed.withLock { $0 = true }
                seen.append(update)
                if update.entries.contains(where: { $0.event == .delta("c") }) { break }
            }
            return seen
        }
        // The subscription connects on its own thread: warm-up appends until one is seen.
        for _ in 0..<200 where !subscribed.withLock({ $0 }) {
            try await streams.append(id, [.delta("warm-up")])
            try await Task.sleep(for: .milliseconds(50))
        }
        try await streams.append(id, [.delta("a\nb \u{1F600}"), .reset, .delta("")])
        try await streams.append(id, [.delta("c")])
        let seen = await collected.value
        let all = try await streams.read(id, after: nil, limit: 1_000)
        #expect(seen.contains { $0.entries.count == 3 }, "the three-event append travelled with its wake-up")
        // Every update that carried entries chains: its previous id is the entry before its first.
        for update in seen where update.previousID != nil {
            guard let head = update.entries.first, let at = all.firstIndex(where: { $0.id == head.id }) else {
                Issue.record("an update's entries are not in the stream: \(update)")
                continue
            }
            #expect(update.previousID == (at == 0 ? "" : all[at - 1].id))
            #expect(Array(all[at..<(at + update.entries.count)]) == update.entries)
        }
    }

    @Test("a wake-up's payload is parsed strictly: an id alone, the entries, or nothing on anything malformed")
    func updatePayloads() {
        let id = UUID()
        let bare = RedisCallStreams.update(id.lowercasedString)
        #expect(bare == CallStreamUpdate(streamID: id))
        let text = "x\ny"
        let full = RedisCallStreams.update("\(id.lowercasedString)\n\n1-0\nd\n0\n\(text.utf8.count)\n\(text)\n2-0\nr\n0\n0\n\n")
        #expect(
            full
                == CallStreamUpdate(
                    streamID: id,
                    previousID: "",
                    entries: [CallStreamEntry(id: "1-0", index: 0, event: .delta(text)), CallStreamEntry(id: "2-0", index: 0, event: .reset)]
                )
        )
        // A length past the payload, or no separator after the text: the id only (the reader reads).
        #expect(RedisCallStreams.update("\(id.lowercasedString)\n\n1-0\nd\n0\n99\nshort\n") == CallStreamUpdate(streamID: id))
        #expect(RedisCallStreams.update("\(id.lowercasedString)\n\n1-0\nd\n0\n2\nabc\n") == CallStreamUpdate(streamID: id))
        #expect(RedisCallStreams.update("not an id") == nil)
        #expect(RedisCallStreams.update("not an id\n\n") == nil)
    }
}
