import Foundation
import Hummingbird
import Shared

/// A streaming call as server-sent events: what its worker wrote to the call's stream
/// (``CallStreams``), then the final event once the call job ended.
///
/// For a stream route (`create-and-call-stream`, `llm-call-stream`), after the call job is
/// queued and its owner checked:
///
/// ```swift
/// return try feed.response(streamID: callJobID, teamID: team.teamID, lastEventID: request.lastEventID) {
///     // nil while the call runs; once it ended, its `event: done` (or `event: error`).
///     try await finalEvent(for: callJobID)
/// }
/// ```
///
/// The events, in order:
/// - each delta: `id: <entry id>` and `data: {"delta": "...", "index": n}` (no `event:`, so a
///   `message`); `index` counts from 0 since the stream began or since its last reset;
/// - a reset (the call is being made again from the start): `id: <entry id>`, `event: reset`,
///   `data: {"detail": "The call is being made again; discard the text received so far"}`;
/// - last, the event `finalEvent` returned, its `id:` set to the id of the last entry sent (or
///   `0-0` when the stream had none). Resuming after that id reads no entries and sends the final
///   event again, so a client that reconnects with the final event's id gets it again and nothing
///   else — and one that reconnects after the last delta but before the final event gets exactly
///   the final event.
///
/// `Last-Event-ID` resumes after that entry; a value that is not a stream id (`<ms>-<seq>`)
/// reads from the start. `finalEvent` is asked when the stream opens, after each announcement
/// that the job ended, and on a slow safety tick (announcements are pub/sub hints); once it
/// answers, the entries left are sent, then the final event, and the stream ends. A client that
/// goes away ends only its relay: the call goes on and is billed once.
struct CallEventFeed: Sendable {
    let streams: any CallStreams
    let relay: StreamRelay
    /// Between the `: keep-alive` comments of a silent stream.
    let keepAlive: Duration
    /// How often `finalEvent` is asked without an announcement.
    var safetyTick: Duration = .seconds(2)
    /// Entries read per round trip.
    var pageSize = 500

    /// The events of `streamID` (a call job's id) for `teamID`, admitted against the stream
    /// bounds: throws the 429 of `STREAMS_PER_TEAM` or the process's bound before anything is sent.
    func events(
        streamID: UUID,
        teamID: String,
        lastEventID: String?,
        finalEvent: @escaping @Sendable () async throws -> ServerSentEvent?
    ) throws(APIError) -> CallEvents {
        CallEvents(
            feed: self,
            streamID: streamID,
            slot: try relay.open(streamID, teamID: teamID),
            after: CallStreamID.validated(lastEventID),
            finalEvent: finalEvent
        )
    }

    /// ``events(streamID:teamID:lastEventID:finalEvent:)`` as the route's `200 text/event-stream` answer.
    func response(
        streamID: UUID,
        teamID: String,
        lastEventID: String?,
        finalEvent: @escaping @Sendable () async throws -> ServerSentEvent?
    ) throws(APIError) -> Response {
        SSEResponse.response(
            try events(streamID: streamID, teamID: teamID, lastEventID: lastEventID, finalEvent: finalEvent),
            keepAlive: keepAlive
        )
    }

    /// The `data` of a delta event.
    struct Delta: Encodable {
        var delta: String
        var index: Int
    }

    /// The `data` of a reset event.
    struct Reset: Encodable {
        var detail = "The call is being made again; discard the text received so far"
    }

    static func event(_ entry: CallStreamEntry) throws -> ServerSentEvent {
        switch entry.event {
        case .delta(let text): return try ServerSentEvent(id: entry.id, json: Delta(delta: text, index: entry.index))
        case .reset: return try ServerSentEvent(id: entry.id, event: "reset", json: Reset())
        }
    }
}

/// The events of one call stream (``CallEventFeed``). Holds its stream slot until it ends or is
/// dropped.
struct CallEvents: AsyncSequence, Sendable {
    typealias Element = ServerSentEvent

    let feed: CallEventFeed
    let streamID: UUID
    let slot: StreamSlot
    let after: String?
    let finalEvent: @Sendable () async throws -> ServerSentEvent?

    func makeAsyncIterator() -> Iterator {
        Iterator(events: self, cursor: after)
    }

    struct Iterator: AsyncIteratorProtocol {
        let events: CallEvents
        /// The id of the last entry sent (or the client's `Last-Event-ID`).
        var cursor: String?
        var page: [CallStreamEntry] = []
        var position = 0
        /// The final event, once `finalEvent` gave it: the entries left are drained first.
        var ending: ServerSentEvent?
        var askFinal = true
        /// The last read returned less than a page: wait for a wake-up before reading again.
        var caughtUp = false
        var finished = false

        init(events: CallEvents, cursor: String?) {
            self.events = events
            self.cursor = cursor
        }

        mutating func next() async throws -> ServerSentEvent? {
            let feed = events.feed
            while true {
                if position < page.count {
                    let entry = page[position]
                    position += 1
                    cursor = entry.id
                    return try CallEventFeed.event(entry)
                }
                if finished { return nil }
                try Task.checkCancellation()
                if var ending {
                    if try await read(feed) { continue }
                    finished = true
                    events.slot.close()
                    ending.id = cursor ?? "0-0"
                    return ending
                }
                if caughtUp && !askFinal {
                    // A wake-up pending since the last read returns at once.
                    if !(await events.slot.wait(timeout: feed.safetyTick)) { askFinal = true }
                    try Task.checkCancellation()
                }
                let wakeups = events.slot.take()
                if wakeups.ended { askFinal = true }
                if take(wakeups.updates) { continue }
                if try await read(feed) { continue }
                if askFinal {
                    askFinal = false
                    ending = try await events.finalEvent()
                }
            }
        }

        /// The entries that came with the wake-ups, when they follow on from ``cursor`` without a
        /// gap: sent as they are, with no read of the stream. Says whether it took any; if not,
        /// the caller reads the stream (a wake-up may carry nothing, or be one the reader has
        /// already read past).
        private mutating func take(_ updates: [CallStreamUpdate]) -> Bool {
            guard !updates.isEmpty else { return false }
            var last = cursor ?? ""
            var entries: [CallStreamEntry] = []
            for update in updates {
                guard update.previousID == last, let end = update.entries.last else { return false }
                entries += update.entries
                last = end.id
            }
            page = entries
            position = 0
            caughtUp = true
            return true
        }

        /// Reads the next page after ``cursor``; says whether it holds entries.
        private mutating func read(_ feed: CallEventFeed) async throws -> Bool {
            page = try await feed.streams.read(events.streamID, after: cursor, limit: feed.pageSize)
            position = 0
            caughtUp = page.count < feed.pageSize
            return !page.isEmpty
        }
    }
}
