import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import Synchronization

/// Turns a sequence of events into a `200 text/event-stream` answer.
///
/// The body runs two helpers beside the writer, in one task group: a pump that pulls the events
/// one at a time (it waits until the writer took the last one, so a slow client holds one event,
/// not a growing buffer), and a clock that asks for a `: keep-alive` comment every `keepAlive`
/// when nothing else was written in that interval. A client that goes away makes a write fail:
/// the group is cancelled, which ends the pump — and with it only the relay; what the events
/// describe (a call, a job) goes on. The idle keep-alive is also how a silent stream notices a
/// client that left.
enum SSEResponse {
    /// Headers of every event stream: no caching, and no buffering by a proxy in front (nginx
    /// honours `X-Accel-Buffering`), so each event reaches the client when it is written.
    static var headers: HTTPFields {
        [
            .contentType: "text/event-stream",
            .cacheControl: "no-cache",
            HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
    }

    /// The answer streaming `events`, ended when the sequence ends (or fails: the connection is
    /// then closed without the end of the body, and an EventSource reconnects with its
    /// `Last-Event-ID`).
    static func response<Events: AsyncSequence & Sendable>(
        _ events: Events,
        keepAlive: Duration
    ) -> Response where Events.Element == ServerSentEvent {
        Response(status: .ok, headers: headers, body: body(events, keepAlive: keepAlive))
    }

    static func body<Events: AsyncSequence & Sendable>(
        _ events: Events,
        keepAlive: Duration
    ) -> ResponseBody where Events.Element == ServerSentEvent {
        ResponseBody { writer in
            let handoff = EventHandoff()
            // A stopping server ends its streams (their clients reconnect elsewhere) instead of
            // waiting for them through its grace period.
            try await withGracefulShutdownHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        do {
                            for try await event in events { try await handoff.put(event) }
                            handoff.finish(nil)
                        } catch {
                            handoff.finish(error)
                        }
                    }
                    group.addTask {
                        while true {
                            try await Task.sleep(for: keepAlive)
                            handoff.tick()
                        }
                    }
                    defer { group.cancelAll() }
                    while let item = try await handoff.take() {
                        switch item {
                        case .event(let event): try await writer.write(ByteBuffer(string: event.encoded))
                        case .keepAlive: try await writer.write(ByteBuffer(string: ServerSentEvent.keepAlive))
                        }
                    }
                }
            } onGracefulShutdown: {
                handoff.finish(ServerStopping())
            }
            try await writer.finish(nil)
        }
    }
}

/// Ends a stream abruptly when the server stops, so its client reconnects (to another process).
struct ServerStopping: Error {}

/// The one-event line between the pump and the writer, and the keep-alive clock's flag.
final class EventHandoff: Sendable {
    enum Item: Sendable {
        case event(ServerSentEvent)
        case keepAlive
    }

    private struct State {
        var event: ServerSentEvent?
        var ended = false
        var failure: (any Error)?
        /// Something was written since the last tick.
        var wrote = false
        var keepAliveDue = false
        var taker: CheckedContinuation<Void, Never>?
        var putter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Hands `event` to the writer; returns once the writer took it (or the task is cancelled:
    /// then throws `CancellationError`).
    func put(_ event: ServerSentEvent) async throws {
        let taker = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.ended else { return nil }
            state.event = event
            defer { state.taker = nil }
            return state.taker
        }
        taker?.resume()
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Cancelled before the handler below could find this continuation: not held.
                let taken = state.withLock { state in
                    if state.event == nil || state.ended || Task.isCancelled { return true }
                    state.putter = continuation
                    return false
                }
                if taken { continuation.resume() }
            }
        } onCancel: {
            let putter = state.withLock { state in
                defer { state.putter = nil }
                return state.putter
            }
            putter?.resume()
        }
        try Task.checkCancellation()
    }

    /// No more events: the writer ends the body after the last one (or throws `failure`).
    func finish(_ failure: (any Error)?) {
        let taker = state.withLock { state in
            state.ended = true
            state.failure = failure
            defer { state.taker = nil }
            return state.taker
        }
        taker?.resume()
    }

    /// The keep-alive clock: a comment is due unless something was written since the last tick.
    func tick() {
        let taker = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.wrote = false }
            guard !state.wrote else { return nil }
            state.keepAliveDue = true
            defer { state.taker = nil }
            return state.taker
        }
        taker?.resume()
    }

    /// The next thing to write, or nil at the end.
    func take() async throws -> Item? {
        while true {
            let next: Result<Item?, any Error>? = state.withLock { state in
                if let event = state.event {
                    state.event = nil
                    state.wrote = true
                    state.keepAliveDue = false
                    return .success(.event(event))
                }
                if state.ended { return state.failure.map { .failure($0) } ?? .success(nil) }
                if state.keepAliveDue {
                    state.keepAliveDue = false
                    state.wrote = true
                    return .success(.keepAlive)
                }
                return nil
            }
            if let next {
                if case .success(.event) = next { resumePutter() }
                return try next.get()
            }
            try Task.checkCancellation()
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { state in
                        if state.event != nil || state.ended || state.keepAliveDue || Task.isCancelled { return true }
                        state.taker = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                let taker = state.withLock { state in
                    defer { state.taker = nil }
                    return state.taker
                }
                taker?.resume()
            }
        }
    }

    private func resumePutter() {
        let putter = state.withLock { state in
            defer { state.putter = nil }
            return state.putter
        }
        putter?.resume()
    }
}

extension Request {
    static let lastEventIDHeader = HTTPField.Name("Last-Event-ID")!

    /// The `Last-Event-ID` a reconnecting client sends: hostile input, which each feed checks
    /// before use (a call stream accepts only a stream id; job events only compare it).
    var lastEventID: String? { headers[Self.lastEventIDHeader] }
}
