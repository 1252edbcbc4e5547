public import Foundation
public import Redis
import UUIDText

/// ``CallStreams`` on Redis streams: one stream per call (``QueueKeys/callStream(_:)``), each
/// entry `k` (`d` delta, `r` reset), `i` (its index) and `t` (the text); wake-ups on
/// ``QueueKeys/callStreamChannel``.
///
/// An append is one script: the index goes on from the stream's last entry (so a redelivery on
/// another worker counts on where the last one stopped, and trimming loses no numbering), each
/// `XADD` trims to about ``CallStreamLimits/cap``, the expiry is renewed and one wake-up published.
public struct RedisCallStreams: CallStreams {
    let redis: RedisClient
    public let keys: QueueKeys
    public let limits: CallStreamLimits

    public init(redis: RedisClient, keys: QueueKeys = QueueKeys(), limits: CallStreamLimits = CallStreamLimits()) {
        self.redis = redis
        self.keys = keys
        self.limits = limits
    }

    public func append(_ streamID: UUID, _ events: [CallStreamEvent]) async throws {
        let stored = events.flatMap { $0.split(maxBytes: limits.maxDeltaBytes) }
        guard !stored.isEmpty else { return }
        let key = RedisArgument(keys.callStream(streamID))
        let head: [RedisArgument] = [
            RedisArgument(limits.cap),
            RedisArgument(max(1, limits.retention.milliseconds)),
            RedisArgument(keys.callStreamChannel),
            RedisArgument(streamID.lowercasedString),
        ]
        var start = 0
        while start < stored.count {
            let end = min(stored.count, start + limits.maxEventsPerAppend)
            var arguments = head
            for event in stored[start..<end] {
                switch event {
                case .delta(let text):
                    arguments.append("d")
                    arguments.append(RedisArgument(text))
                case .reset:
                    arguments.append("r")
                    arguments.append("")
                }
            }
            try await redis.run(Self.appendScript, keys: [key], arguments: arguments)
            start = end
        }
    }

    public func read(_ streamID: UUID, after: String?, limit: Int) async throws -> [CallStreamEntry] {
        let start = CallStreamID.validated(after).map { "(" + $0 } ?? "-"
        let reply = try await redis.send(
            "XRANGE",
            RedisArgument(keys.callStream(streamID)),
            RedisArgument(start),
            "+",
            "COUNT",
            RedisArgument(min(max(1, limit), 10_000))
        )
        guard let entries = reply.array else { throw RedisError.unexpectedReply("XRANGE: \(reply)") }
        return try entries.map(Self.entry)
    }

    public func updates() -> AsyncStream<CallStreamUpdate> {
        RedisSubscription.stream(configuration: redis.configuration, channels: [keys.callStreamChannel], logger: redis.logger) { message in
            Self.update(message.payload).map { [$0] } ?? []
        }
    }

    /// A wake-up as the append script publishes it: the stream id alone, or
    /// `id \n previous \n` then per entry `entry id \n kind \n index \n byte length \n text \n`
    /// (the length first, so a text may hold any byte). Anything else is no wake-up.
    static func update(_ payload: String) -> CallStreamUpdate? {
        let bytes = Array(payload.utf8)
        var position = 0
        func field() -> String? {
            guard position <= bytes.count, let end = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            defer { position = end + 1 }
            return String(decoding: bytes[position..<end], as: UTF8.self)
        }
        guard let first = field() else { return UUIDText.parse(payload).map { CallStreamUpdate(streamID: $0) } }
        guard let streamID = UUIDText.parse(first), let previous = field() else { return nil }
        var entries: [CallStreamEntry] = []
        while position < bytes.count {
            guard let id = field(), let kind = field(), let index = field().flatMap({ Int($0) }), let length = field().flatMap({ Int($0) }),
                length >= 0, position + length < bytes.count, bytes[position + length] == UInt8(ascii: "\n")
            else { return CallStreamUpdate(streamID: streamID) }
            let text = String(decoding: bytes[position..<(position + length)], as: UTF8.self)
            position += length + 1
            entries.append(CallStreamEntry(id: id, index: index, event: kind == "r" ? .reset : .delta(text)))
        }
        return CallStreamUpdate(streamID: streamID, previousID: previous, entries: entries)
    }

    /// `[id, [field, value, …]]` → an entry.
    private static func entry(_ reply: RedisValue) throws -> CallStreamEntry {
        guard let parts = reply.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].array else {
            throw RedisError.unexpectedReply("XRANGE entry: \(reply)")
        }
        var kind = "d"
        var index = 0
        var text = ""
        var position = 0
        while position + 1 < fields.count {
            switch fields[position].string {
            case "k": kind = fields[position + 1].string ?? "d"
            case "i": index = fields[position + 1].int ?? 0
            case "t": text = fields[position + 1].string ?? ""
            default: break
            }
            position += 2
        }
        return CallStreamEntry(id: id, index: index, event: kind == "r" ? .reset : .delta(text))
    }

    /// KEYS[1] the stream; ARGV: cap, retention (ms), channel, stream id, then (kind, text) pairs.
    /// Returns the last entry id written.
    static let appendScript = RedisScript(
        """
        local key = KEYS[1]
        local cap = ARGV[1]
        local nextIndex = 0
        local previous = ''
        local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
        if #last > 0 then
          previous = last[1][1]
          local fields = last[1][2]
          local kind, index = 'd', 0
          for f = 1, #fields, 2 do
            if fields[f] == 'k' then kind = fields[f + 1] end
            if fields[f] == 'i' then index = tonumber(fields[f + 1]) or 0 end
          end
          if kind == 'r' then nextIndex = 0 else nextIndex = index + 1 end
        end
        local id = ''
        local wake = {ARGV[4], previous}
        local size = 0
        for a = 5, #ARGV, 2 do
          if ARGV[a] == 'r' then
            id = redis.call('XADD', key, 'MAXLEN', '~', cap, '*', 'k', 'r', 'i', 0)
            table.insert(wake, id .. '\\nr\\n0\\n0\\n\\n')
            nextIndex = 0
          else
            local text = ARGV[a + 1]
            id = redis.call('XADD', key, 'MAXLEN', '~', cap, '*', 'k', 'd', 'i', nextIndex, 't', text)
            table.insert(wake, id .. '\\nd\\n' .. nextIndex .. '\\n' .. #text .. '\\n' .. text .. '\\n')
            size = size + #text
            nextIndex = nextIndex + 1
          end
        end
        redis.call('PEXPIRE', key, ARGV[2])
        -- The entries travel with the wake-up when they are small: readers then need no XRANGE.
        if size <= 16384 then
          redis.call('PUBLISH', ARGV[3], wake[1] .. '\\n' .. wake[2] .. '\\n' .. table.concat(wake, '', 3))
        else
          redis.call('PUBLISH', ARGV[3], ARGV[4])
        end
        return id
        """
    )
}
