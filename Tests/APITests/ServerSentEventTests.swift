import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import Testing

@testable import API

/// The `text/event-stream` encoding, and the answer that streams events: its headers, its
/// keep-alive comments, and a client that goes away.
@Suite("Server-sent events: encoding and the streaming answer")
struct ServerSentEventTests {
    @Test("id, event and data lines, ended by a blank line")
    func fields() {
        #expect(ServerSentEvent(data: "hi").encoded == "data: hi\n\n")
        #expect(ServerSentEvent(id: "1-0", event: "done", data: "{}").encoded == "id: 1-0\nevent: done\ndata: {}\n\n")
        #expect(ServerSentEvent(data: "").encoded == "data: \n\n")
    }

    @Test("multi-line data is several data lines, whatever the line break")
    func multiLineData() {
        #expect(ServerSentEvent(data: "a\nb").encoded == "data: a\ndata: b\n\n")
        #expect(ServerSentEvent(data: "a\r\nb\rc\n").encoded == "data: a\ndata: b\ndata: c\ndata: \n\n")
    }

    @Test("line breaks and NUL cannot leave the id or event line")
    func singleLineFields() {
        let event = ServerSentEvent(id: "1\n-0\0", event: "do\r\nne\ndata: x", data: "y")
        #expect(event.encoded == "id: 1-0\nevent: donedata: x\ndata: y\n\n")
    }

    @Test("comments and the keep-alive")
    func comments() {
        #expect(ServerSentEvent.keepAlive == ": keep-alive\n\n")
        #expect(ServerSentEvent.comment("a\nb") == ": ab\n\n")
    }

    @Test("JSON data is one line, with the API's key names and escapes")
    func jsonData() throws {
        let event = try ServerSentEvent(id: "5-1", json: CallEventFeed.Delta(delta: "line\nbreak \"quoted\"", index: 3))
        let lines = event.encoded.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 4)
        #expect(lines[0] == "id: 5-1")
        let data = try #require(lines[1].dropFirst("data: ".count).data(using: .utf8))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["delta"] as? String == "line\nbreak \"quoted\"")
        #expect(object["index"] as? Int == 3)
    }

    @Test("the answer: 200, event-stream headers, the events in order, then the end")
    func answer() async throws {
        let events = [ServerSentEvent(id: "1", data: "a"), ServerSentEvent(id: "2", event: "done", data: "b")]
        let response = SSEResponse.response(
            AsyncStream { continuation in
                for event in events { continuation.yield(event) }
                continuation.finish()
            },
            keepAlive: .seconds(10)
        )
        #expect(response.status == .ok)
        #expect(response.headers[.contentType] == "text/event-stream")
        #expect(response.headers[.cacheControl] == "no-cache")
        #expect(response.headers[HTTPField.Name("X-Accel-Buffering")!] == "no")
        let writer = CollectingWriter()
        try await response.body.write(writer)
        #expect(writer.text == events.map(\.encoded).joined())
        #expect(writer.finished)
    }

    @Test("a silent stream sends a keep-alive comment every interval")
    func keepAlive() async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: ServerSentEvent.self)
        let body = SSEResponse.body(stream, keepAlive: .milliseconds(100))
        let writer = CollectingWriter()
        let task = Task { try await body.write(writer) }
        // Waits for the comments rather than counting them in a fixed window: on a loaded machine
        // (the whole suite in parallel on 2 cores) timers run late, and a window can hold none.
        func keepAlives() -> Int { writer.text.components(separatedBy: ServerSentEvent.keepAlive).count - 1 }
        let deadline = ContinuousClock.now + .seconds(20)
        while keepAlives() < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        continuation.yield(ServerSentEvent(data: "x"))
        continuation.finish()
        try await task.value
        #expect(keepAlives() >= 2, "\(writer.text)")
        #expect(writer.text.hasSuffix("data: x\n\n"))
    }

    @Test("a client that goes away ends the relay: the events are no longer pulled")
    func disconnect() async throws {
        let pulled = Mutex(0)
        let events = AsyncStream<ServerSentEvent>(unfolding: {
            try? await Task.sleep(for: .milliseconds(10))
            if Task.isCancelled { return nil }
            let count = pulled.withLock { count in
                count += 1
                return count
            }
            return ServerSentEvent(data: "\(count)")
        })
        let writer = CollectingWriter(failAfter: 3)
        await #expect(throws: CollectingWriter.Gone.self) {
            try await SSEResponse.body(events, keepAlive: .seconds(10)).write(writer)
        }
        let settled = pulled.withLock { $0 }
        try await Task.sleep(for: .milliseconds(100))
        #expect(pulled.withLock { $0 } == settled)
        #expect(settled <= 5)
        #expect(!writer.finished)
    }
}

/// A response body writer that keeps what is written, or fails like a closed connection.
final class CollectingWriter: ResponseBodyWriter, Sendable {
    struct Gone: Error {}

    private let state = Mutex<(text: String, writes: Int, finished: Bool)>(("", 0, false))
    private let failAfter: Int?

    init(failAfter: Int? = nil) {
        self.failAfter = failAfter
    }

    var text: String { state.withLock { $0.text } }
    var finished: Bool { state.withLock { $0.finished } }

    func write(_ buffer: ByteBuffer) async throws {
        try state.withLock { state in
            if let failAfter, state.writes >= failAfter { throw Gone() }
            state.writes += 1
            state.text += String(buffer: buffer)
        }
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {
        state.withLock { $0.finished = true }
    }
}
