public import Foundation
public import Redis

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

    public func updates() -> AsyncStream<UUID> {
        RedisSubscription.stream(configuration: redis.configuration, channels: [keys.callStreamChannel], logger: redis.logger) { message in
            UUID(uuidString: message.payload).map { [$0] } ?? []
        }
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
        local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
        if #last > 0 then
          local fields = last[1][2]
          local kind, index = 'd', 0
          for f = 1, #fields, 2 do
            if fields[f] == 'k' then kind = fields[f + 1] end
            if fields[f] == 'i' then index = tonumber(fields[f + 1]) or 0 end
          end
          if kind == 'r' then nextIndex = 0 else nextIndex = index + 1 end
        end
        local id = ''
        for a = 5, #ARGV, 2 do
          if ARGV[a] == 'r' then
            id = redis.call('XADD', key, 'MAXLEN', '~', cap, '*', 'k', 'r', 'i', 0)
            nextIndex = 0
          else
            id = redis.call('XADD', key, 'MAXLEN', '~', cap, '*', 'k', 'd', 'i', nextIndex, 't', ARGV[a + 1])
            nextIndex = nextIndex + 1
          end
        end
        redis.call('PEXPIRE', key, ARGV[2])
        redis.call('PUBLISH', ARGV[3], ARGV[4])
        return id
        """
    )
}
