public import Foundation

/// What a streaming call writes as it runs: a piece of text, or the news that the call is being
/// made again from the start (readers discard what they had).
public enum CallStreamEvent: Sendable, Hashable {
    case delta(String)
    case reset
}

/// One entry of a call's stream, as readers get it.
public struct CallStreamEntry: Sendable, Hashable {
    /// The Redis entry id (`<ms>-<seq>`): the SSE `id:` a client resumes after.
    public var id: String
    /// The delta's number since the stream began or since its last `reset` (which restarts the
    /// count at 0; a `reset` entry carries 0, the number of the next delta). Stored in the entry,
    /// so it survives the trimming of older entries: a reader that finds a gap sees it.
    public var index: Int
    public var event: CallStreamEvent

    public init(id: String, index: Int, event: CallStreamEvent) {
        self.id = id
        self.index = index
        self.event = event
    }
}

/// A wake-up of one stream. Its append's entries travel with it when they are small enough
/// (``previousID`` set): a reader whose last entry is ``previousID`` takes them as they are,
/// without reading the stream. Otherwise (``previousID`` nil, or another last entry) it reads.
public struct CallStreamUpdate: Sendable, Hashable {
    public var streamID: UUID
    /// The stream's last entry id before the append (`""`: it was empty); nil when the entries
    /// did not travel.
    public var previousID: String?
    public var entries: [CallStreamEntry]

    public init(streamID: UUID, previousID: String? = nil, entries: [CallStreamEntry] = []) {
        self.streamID = streamID
        self.previousID = previousID
        self.entries = entries
    }
}

/// The live view of streaming calls: the worker appends each call's deltas to a stream of its
/// own (keyed by the call job's id), and every API process reads them back — first what is
/// there, then what comes as ``updates()`` wake it. A hint may be lost (pub/sub), so readers
/// also look again on a slow tick; the stream itself is the record.
///
/// Bounded: a stream keeps its last `cap` entries (about: `MAXLEN ~`), a delta over
/// ``CallStreamLimits/maxDeltaBytes`` is stored as several, and a stream expires
/// ``CallStreamLimits/retention`` after its last append.
public protocol CallStreams: Sendable {
    /// Appends in order, renews the stream's expiry and publishes one wake-up for it, in one
    /// round trip.
    func append(_ streamID: UUID, _ events: [CallStreamEvent]) async throws
    /// Entries after the entry id `after` (exclusive; nil = from the start), at most `limit`.
    /// `after` must be a valid id (``CallStreamID/validated(_:)``); anything else reads from the start.
    func read(_ streamID: UUID, after: String?, limit: Int) async throws -> [CallStreamEntry]
    /// Wake-ups of streams that got entries, with those entries when they are small. Each call
    /// opens a subscription of its own, so a process keeps one (the API's ``StreamRelay``)
    /// however many readers it has.
    func updates() -> AsyncStream<CallStreamUpdate>
}

/// The bounds of every call stream.
public struct CallStreamLimits: Sendable, Hashable {
    /// Entries kept per stream (trimmed approximately, in whole nodes: at least this many stay).
    public var cap: Int
    /// A delta longer than this (UTF-8 bytes) is stored as several entries, split between characters.
    public var maxDeltaBytes: Int
    /// How long a stream is kept after its last append: long enough for a client to come back
    /// after the call ended.
    public var retention: Duration
    /// Events one append sends in one script call (a larger append is sent in several, in order).
    public var maxEventsPerAppend: Int

    public init(cap: Int = 10_000, maxDeltaBytes: Int = 64 * 1024, retention: Duration = .seconds(3600), maxEventsPerAppend: Int = 1_000) {
        self.cap = max(1, cap)
        self.maxDeltaBytes = max(4, maxDeltaBytes)
        self.retention = retention
        self.maxEventsPerAppend = max(1, maxEventsPerAppend)
    }
}

/// Stream entry ids as clients hand them back (`Last-Event-ID`): hostile input until checked.
public enum CallStreamID {
    /// `id` if it is a Redis stream id, `<ms>-<seq>` (decimal digits, each part at most 20),
    /// else nil — a caller reads from the start instead.
    public static func validated(_ id: String?) -> String? {
        guard let id else { return nil }
        let parts = id.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        for part in parts {
            guard (1...20).contains(part.count), part.allSatisfy({ (48...57).contains($0) }) else { return nil }
            // Redis ids are unsigned 64-bit: a 20-digit part past UInt64.max is not one.
            guard UInt64(String(decoding: part, as: UTF8.self)) != nil else { return nil }
        }
        // Nothing can follow the largest id: Redis refuses it as an exclusive start.
        guard id != "\(UInt64.max)-\(UInt64.max)" else { return nil }
        return id
    }
}

extension CallStreamEvent {
    /// The event as stored: a delta longer than `maxBytes` (UTF-8) becomes several, cut between
    /// characters (a character longer than `maxBytes` goes whole into a delta of its own).
    public func split(maxBytes: Int) -> [CallStreamEvent] {
        guard case .delta(let text) = self, text.utf8.count > maxBytes else { return [self] }
        var pieces: [CallStreamEvent] = []
        var piece = ""
        var bytes = 0
        for character in text {
            let size = character.utf8.count
            if bytes + size > maxBytes, !piece.isEmpty {
                pieces.append(.delta(piece))
                piece = ""
                bytes = 0
            }
            piece.append(character)
            bytes += size
        }
        if !piece.isEmpty { pieces.append(.delta(piece)) }
        return pieces
    }
}
