import Dispatch
import Foundation
import Hummingbird
import Synchronization
import Testing

@testable import API

/// A stream whose client left must end, whenever the cancellation comes: a stream that outlives
/// its client holds its task and its stream slot for ever, and keeps the server's graceful
/// shutdown waiting for its request (the live app once hung so in `GeneratedInputTests`, every
/// thread idle). The waits here are cancelled before they began, the window in which a
/// cancellation handler finds no continuation to resume.
@Suite("Streams end when cancelled, whenever the cancellation comes")
struct StreamCancellationTests {
    @Test("a stream's wait for wake-ups, begun in a cancelled task, returns at once")
    func waitBegunCancelled() async throws {
        let relay = StreamRelay(streams: RecordingStreams(), limits: .init(perProcess: 10, perTeam: 10))
        let slot = try relay.open(UUID(), teamID: "t")
        let started = ContinuousClock.now
        let task = Task {
            while !Task.isCancelled { await Task.yield() }
            return await slot.wait(timeout: .seconds(3600))
        }
        task.cancel()
        let woken = try await bounded("a wait begun in a cancelled task", within: .seconds(20)) { await task.value }
        #expect(!woken, "a cancellation is not a wake-up")
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("an event handed over in a cancelled task, with no writer left to take it, is given up")
    func putBegunCancelled() async throws {
        let handoff = EventHandoff()
        let task = Task {
            while !Task.isCancelled { await Task.yield() }
            try await handoff.put(ServerSentEvent(data: "late"))
        }
        task.cancel()
        await #expect(throws: CancellationError.self) {
            try await bounded("a hand-over begun in a cancelled task", within: .seconds(20)) { try await task.value }
        }
    }

    @Test("a writer's take, begun in a cancelled task with nothing to take, throws at once")
    func takeBegunCancelled() async throws {
        let handoff = EventHandoff()
        let task = Task {
            while !Task.isCancelled { await Task.yield() }
            return try await handoff.take()
        }
        task.cancel()
        await #expect(throws: CancellationError.self) {
            try await bounded("a take begun in a cancelled task", within: .seconds(20)) { try await task.value }
        }
    }

    @Test("a client that leaves while the next event is being read ends the answer (the read is not cancellable, as a database read is not)")
    func clientLeavesDuringRead() async throws {
        let events = SlowEvents(readTime: .milliseconds(300))
        // The first event is written; the keep-alive after it finds the client gone while the
        // second event is still being read. That read then hands its event to a pump that has
        // been cancelled.
        let writer = CollectingWriter(failAfter: 1)
        let body = SSEResponse.body(events, keepAlive: .milliseconds(50))
        await #expect(throws: CollectingWriter.Gone.self) {
            try await bounded("the answer to a client that left", within: .seconds(20)) { try await body.write(writer) }
        }
        #expect(events.reads.load(ordering: .relaxed) >= 2, "the second read had begun when the client left")
    }
}

/// Events read one at a time like a database read: the first at once, each later one after
/// `readTime` that a cancellation does not cut short.
final class SlowEvents: AsyncSequence, Sendable {
    typealias Element = ServerSentEvent

    let readTime: Duration
    let reads = Atomic(0)

    init(readTime: Duration) {
        self.readTime = readTime
    }

    struct Iterator: AsyncIteratorProtocol {
        let events: SlowEvents

        mutating func next() async throws -> ServerSentEvent? {
            let count = events.reads.add(1, ordering: .relaxed).newValue
            if count > 1 {
                let nanoseconds = events.readTime.components.attoseconds / 1_000_000_000 + events.readTime.components.seconds * 1_000_000_000
                await withCheckedContinuation { continuation in
                    DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) { continuation.resume() }
                }
            }
            return ServerSentEvent(data: "\(count)")
        }
    }

    func makeAsyncIterator() -> Iterator { Iterator(events: self) }
}
