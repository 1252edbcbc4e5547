import Foundation
import Logging
import Synchronization
import Testing

@testable import Shared
@testable import Worker

/// Call streams in memory: records each append, and can hold appends back or fail them.
final class RecordingCallStreams: CallStreams {
    private struct State {
        var appends: [[CallStreamEvent]] = []
        var failNext = 0
        var held: [CheckedContinuation<Void, Never>] = []
        var holding = false
    }

    private let state = Mutex(State())
    let delay: Duration

    init(delay: Duration = .zero) {
        self.delay = delay
    }

    var appends: [[CallStreamEvent]] { state.withLock { $0.appends } }
    var events: [CallStreamEvent] { appends.flatMap { $0 } }

    func failNext(_ count: Int) { state.withLock { $0.failNext = count } }
    /// Appends wait until ``release()``.
    func hold() { state.withLock { $0.holding = true } }
    /// Appends waiting for ``release()`` now.
    var heldCount: Int { state.withLock { $0.held.count } }
    func release() {
        let held = state.withLock { state in
            state.holding = false
            defer { state.held = [] }
            return state.held
        }
        for continuation in held { continuation.resume() }
    }

    struct Refused: Error {}

    func append(_ streamID: UUID, _ events: [CallStreamEvent]) async throws {
        await withCheckedContinuation { continuation in
            let wait = state.withLock { state in
                if state.holding { state.held.append(continuation) }
                return state.holding
            }
            if !wait { continuation.resume() }
        }
        if delay > .zero { try await Task.sleep(for: delay) }
        let fail = state.withLock { state in
            if state.failNext > 0 {
                state.failNext -= 1
                return true
            }
            state.appends.append(events)
            return false
        }
        if fail { throw Refused() }
    }

    func read(_ streamID: UUID, after: String?, limit: Int) async throws -> [CallStreamEntry] { [] }

    func updates() -> AsyncStream<CallStreamUpdate> { AsyncStream { $0.finish() } }
}

@Suite("Call stream sink: deltas to Redis without holding the call")
struct CallStreamSinkTests {
    static let logger = Logger(label: "sink-tests")

    @Test("deltas and resets arrive in order; finish waits until they are written")
    func order() async {
        let streams = RecordingCallStreams(delay: .milliseconds(5))
        let sink = CallStreamSink(streams: streams, streamID: UUID(), logger: Self.logger)
        await sink.delta("a")
        await sink.delta("")  // nothing to write
        await sink.delta("b")
        await sink.reset()
        await sink.delta("c")
        await sink.finish()
        #expect(streams.events == [.delta("a"), .delta("b"), .reset, .delta("c")])
        await sink.finish()  // idle: returns at once
    }

    @Test("a slow Redis never holds the call up; what piled up goes in one append")
    func batchesWhileInFlight() async {
        let streams = RecordingCallStreams()
        streams.hold()
        let sink = CallStreamSink(streams: streams, streamID: UUID(), logger: Self.logger)
        let clock = ContinuousClock()
        let started = clock.now
        for index in 0..<200 { await sink.delta("\(index) ") }
        #expect(clock.now - started < .seconds(1))
        streams.release()
        await sink.finish()
        #expect(streams.events == (0..<200).map { .delta("\($0) ") })
        // The first append took the first delta; the other 199 waited for it and went together.
        #expect(streams.appends.count <= 3)
    }

    @Test("an append that fails is dropped and counted; later ones go on, finish still returns")
    func failuresDropped() async {
        let streams = RecordingCallStreams()
        streams.failNext(1)
        let sink = CallStreamSink(streams: streams, streamID: UUID(), logger: Self.logger)
        await sink.delta("lost")
        await sink.finish()
        await sink.delta("kept")
        await sink.finish()
        #expect(streams.events == [.delta("kept")])
        #expect(sink.failures == 1)
    }

    @Test("past maxPending waiting events, new text joins the last waiting delta and stays whole")
    func boundedBuffer() async throws {
        let streams = RecordingCallStreams()
        streams.hold()
        let sink = CallStreamSink(streams: streams, streamID: UUID(), maxPending: 5, logger: Self.logger)
        // The writer's first append is in flight, with the one event there was, before the rest
        // come: otherwise it takes however many had come when its task started (up to
        // `maxPending` too), and the count below would depend on scheduling (it once was 7).
        await sink.delta("0,")
        let inFlight = ContinuousClock.now + .seconds(20)
        while streams.heldCount == 0 {
            try #require(ContinuousClock.now < inFlight, "the writer's first append never began")
            try await Task.sleep(for: .milliseconds(1))
        }
        for index in 1..<50 { await sink.delta("\(index),") }
        streams.release()
        await sink.finish()
        let texts = streams.events.compactMap { event -> String? in
            if case .delta(let text) = event { return text }
            return nil
        }
        #expect(texts.joined() == (0..<50).map { "\($0)," }.joined())
        #expect(streams.appends.map(\.count) == [1, 5], "the one in flight, then the five that waited: \(streams.appends)")
    }
}
