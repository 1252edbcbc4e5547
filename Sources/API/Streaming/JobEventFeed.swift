import Foundation
import Hummingbird
import Shared

/// A job's status changes as server-sent events (`GET /api/jobs/{job_id}/events`).
///
/// Each event is a snapshot: `event: status`, `data: {job_id, status, progress {calls_done,
/// calls_planned}, attempts}`, sent whenever one of those four differs from the last one sent;
/// the terminal status's event carries the job as `GET /api/jobs/{id}` answers it (result,
/// usage, costs or error), and the stream ends after it.
///
/// The event id is the snapshot itself, `<status>.<calls_done>.<calls_planned>.<attempts>`
/// (e.g. `queued.0.0.1`): a client reconnecting with `Last-Event-ID` gets the current snapshot
/// only if it differs from the one it has — stateless and exact, on any API process. (With the
/// terminal snapshot's id the stream ends at once.) Snapshots are read from PostgreSQL when the
/// queue announces the job ended and on a modest tick for the changes in between.
struct JobEventFeed: Sendable {
    let jobs: any JobStore
    let relay: StreamRelay
    let keepAlive: Duration
    /// How often the job is read without an announcement.
    var tick: Duration = .seconds(1)

    /// The events of `job` (already read and checked to be the caller's), admitted against the
    /// stream bounds (429 before anything is sent).
    func events(job: Job, teamID: String, lastEventID: String?) throws(APIError) -> JobEvents {
        JobEvents(feed: self, first: job, slot: try relay.open(job.jobID, teamID: teamID), lastEventID: lastEventID)
    }

    func response(job: Job, teamID: String, lastEventID: String?) throws(APIError) -> Response {
        SSEResponse.response(try events(job: job, teamID: teamID, lastEventID: lastEventID), keepAlive: keepAlive)
    }

    /// The snapshot's id (see the type's documentation).
    static func eventID(_ job: Job) -> String {
        "\(job.status.rawValue).\(job.callsDone).\(job.callsPlanned).\(job.attempts)"
    }

    /// The `data` of a non-terminal snapshot.
    struct Snapshot: Encodable {
        var jobID: String
        var status: String
        var progress: JobResponse.Progress
        var attempts: Int

        enum CodingKeys: String, CodingKey {
            case jobID = "job_id"
            case status, progress, attempts
        }
    }

    static func event(_ job: Job) throws -> ServerSentEvent {
        if job.status.isTerminal {
            return try ServerSentEvent(id: eventID(job), event: "status", json: JobResponse(job: job))
        }
        let snapshot = Snapshot(
            jobID: job.jobID.lowercasedString,
            status: job.status.rawValue,
            progress: .init(callsDone: job.callsDone, callsPlanned: job.callsPlanned),
            attempts: job.attempts
        )
        return try ServerSentEvent(id: eventID(job), event: "status", json: snapshot)
    }
}

/// The events of one job (``JobEventFeed``). Holds its stream slot until it ends or is dropped.
struct JobEvents: AsyncSequence, Sendable {
    typealias Element = ServerSentEvent

    let feed: JobEventFeed
    let first: Job
    let slot: StreamSlot
    let lastEventID: String?

    func makeAsyncIterator() -> Iterator {
        Iterator(events: self, sent: lastEventID, next: first)
    }

    struct Iterator: AsyncIteratorProtocol {
        let events: JobEvents
        /// The id of the snapshot the client has.
        var sent: String?
        /// A snapshot read but not yet looked at (the route's own read, at first).
        var pending: Job?
        var finished = false

        init(events: JobEvents, sent: String?, next: Job) {
            self.events = events
            self.sent = sent
            self.pending = next
        }

        mutating func next() async throws -> ServerSentEvent? {
            while !finished {
                try Task.checkCancellation()
                _ = events.slot.take()
                let job: Job
                if let pending {
                    job = pending
                    self.pending = nil
                } else if let read = try await events.feed.jobs.get(events.first.jobID) {
                    job = read
                } else {
                    break
                }
                let id = JobEventFeed.eventID(job)
                if job.status.isTerminal {
                    finished = true
                    events.slot.close()
                }
                if id != sent {
                    sent = id
                    return try JobEventFeed.event(job)
                }
                if !finished { await events.slot.wait(timeout: events.feed.tick) }
            }
            finished = true
            return nil
        }
    }
}
