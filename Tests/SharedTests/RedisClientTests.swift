import Foundation
import Redis
import Testing

@testable import Shared

@Suite("Redis layer over hiredis")
struct RedisClientTests {
    @Test("binary values round-trip: NUL bytes and 1 MiB")
    func binaryValues() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let key = TestEnvironment.uniqueKey()
        let withNul: [UInt8] = [0, 1, 2, 0, 255, 0, 10, 13]
        try await redis.send("SET", RedisArgument(key), RedisArgument(bytes: withNul))
        #expect(try await redis.send("GET", RedisArgument(key)) == .bulk(withNul))

        let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await redis.send("SET", RedisArgument(key), RedisArgument(bytes: big))
        #expect(try await redis.send("GET", RedisArgument(key)).bytes == big)
        #expect(try await redis.send("STRLEN", RedisArgument(key)) == .integer(1 << 20))

        // A key with a NUL byte in it is its own key.
        let nulKey = RedisArgument(bytes: Array(key.utf8) + [0, 65])
        try await redis.send("SET", nulKey, "x")
        #expect(try await redis.send("GET", nulKey) == .bulk(Array("x".utf8)))
        #expect(try await redis.send("EXISTS", RedisArgument(key + "A")) == .integer(0))
        try await redis.send("DEL", RedisArgument(key), nulKey)
    }

    @Test("typed replies: status, integer, null, array, error")
    func typedReplies() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let key = TestEnvironment.uniqueKey()
        #expect(try await redis.send("PING") == .status("PONG"))
        #expect(try await redis.send("INCRBY", RedisArgument(key), 41) == .integer(41))
        #expect(try await redis.send("GET", RedisArgument(key + ":missing")) == .null)
        try await redis.send("RPUSH", RedisArgument(key + ":list"), "a", "b")
        #expect(try await redis.send("LRANGE", RedisArgument(key + ":list"), 0, -1) == .array([.bulk([97]), .bulk([98])]))
        await #expect(throws: RedisError.self) { try await redis.send("LPUSH", RedisArgument(key), "x") }  // WRONGTYPE
        try await redis.send("DEL", RedisArgument(key), RedisArgument(key + ":list"))
    }

    @Test("a pipeline of 1,000 commands answers in order, error replies in place")
    func pipelineOfAThousand() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let key = TestEnvironment.uniqueKey()
        var commands = (0..<999).map { RedisCommand("RPUSH", RedisArgument(key), RedisArgument($0)) }
        commands.insert(RedisCommand("NOSUCHCOMMAND"), at: 500)
        let before = redis.roundTripCount
        let replies = try await redis.pipeline(commands)
        #expect(redis.roundTripCount - before == 1)
        #expect(replies.count == 1000)
        #expect(replies[0] == .integer(1))
        if case .error(let message) = replies[500] { #expect(message.contains("unknown command")) } else { Issue.record("expected an error reply") }
        #expect(replies[999] == .integer(999))
        let values = try await redis.send("LRANGE", RedisArgument(key), 0, -1).array ?? []
        #expect(values.count == 999)
        #expect(values.last?.int == 998)
        try await redis.send("DEL", RedisArgument(key))
    }

    @Test("concurrent callers are pipelined and each gets its own answer")
    func concurrentCallers() async throws {
        let redis = try TestEnvironment.redis(poolSize: 2)
        defer { redis.shutdown() }
        let key = TestEnvironment.uniqueKey()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<500 {
                group.addTask {
                    let field = RedisArgument("\(key):\(i)")
                    try await redis.send("SET", field, RedisArgument(i))
                    let value = try await redis.send("GET", field)
                    #expect(value.int == i)
                    try await redis.send("DEL", field)
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("scripts run by EVALSHA and reload transparently after SCRIPT FLUSH")
    func scripts() async throws {
        let redis = try TestEnvironment.redis()
        defer { redis.shutdown() }
        let key = TestEnvironment.uniqueKey()
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1]) .. ':' .. '\(UUID().uuidString)'")
        let first = try await redis.run(script, keys: [RedisArgument(key)], arguments: [5])
        #expect(first.string?.hasPrefix("5:") == true)
        #expect(try await redis.send("SCRIPT", "EXISTS", RedisArgument(script.sha1)) == .array([.integer(1)]))
        try await redis.send("SCRIPT", "FLUSH")
        let second = try await redis.run(script, keys: [RedisArgument(key)], arguments: [5])
        #expect(second.string?.hasPrefix("10:") == true)
        await #expect(throws: RedisError.self) {
            try await redis.run(RedisScript("return redis.error_reply('boom')"), keys: [])
        }
        try await redis.send("DEL", RedisArgument(key))
    }

    @Test("recovers after CLIENT KILL of its own connection")
    func recoversAfterClientKill() async throws {
        let redis = try TestEnvironment.redis(poolSize: 1)
        defer { redis.shutdown() }
        let name = "kill-\(UUID().uuidString.prefix(8))"
        try await redis.send("CLIENT", "SETNAME", RedisArgument(name))
        let admin = try TestEnvironment.redis(poolSize: 1)
        defer { admin.shutdown() }
        let list = try await admin.send("CLIENT", "LIST").string ?? ""
        let id = try #require(
            list.split(separator: "\n").first { $0.contains("name=\(name)") }?
                .split(separator: " ").first { $0.hasPrefix("id=") }?.dropFirst(3)
        )
        #expect(try await admin.send("CLIENT", "KILL", "ID", RedisArgument(String(id))) == .integer(1))
        // The idle connection is noticed as closed and replaced before the next command.
        #expect(try await redis.send("PING") == .status("PONG"))
        #expect(try await redis.send("CLIENT", "GETNAME") == .null)
    }

    @Test("a command slower than the read timeout fails with .timeout and the connection recovers")
    func readTimeout() async throws {
        let redis = try TestEnvironment.redis(poolSize: 1, commandTimeout: 0.3)
        defer { redis.shutdown() }
        let key = TestEnvironment.uniqueKey()
        await #expect(throws: RedisError.timeout) {
            // BLPOP blocks 2 s server-side: longer than the 0.3 s read timeout.
            try await redis.send("BLPOP", RedisArgument(key), 2)
        }
        #expect(try await redis.send("PING") == .status("PONG"))
    }

    @Test("connecting to a port nobody listens on fails with .connectFailed")
    func connectFailure() async throws {
        var configuration = try TestEnvironment.redisConfiguration()
        configuration.port = 1
        let redis = RedisClient(configuration: configuration)
        defer { redis.shutdown() }
        await #expect(throws: RedisError.self) { try await redis.send("PING") }
    }

    @Test("a blocking connection waits without a read timeout and unblocks on cancellation")
    func blockingConnection() async throws {
        let redis = try TestEnvironment.redis(commandTimeout: 0.3)
        defer { redis.shutdown() }
        let key = TestEnvironment.uniqueKey()
        let waiter = redis.makeBlockingConnection()
        // Longer than the pool's read timeout, and answered by a push from another connection.
        async let popped = waiter.send("BLPOP", RedisArgument(key), 0)
        try await Task.sleep(for: .milliseconds(600))
        try await redis.send("RPUSH", RedisArgument(key), "job-1")
        #expect(try await popped == .array([.bulk(Array(key.utf8)), .bulk(Array("job-1".utf8))]))

        let started = ContinuousClock.now
        let task = Task { try await waiter.send("BLPOP", RedisArgument(key), 0) }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - started < .seconds(3))
        // The connection is still usable after a cancellation.
        try await redis.send("RPUSH", RedisArgument(key), "job-2")
        #expect(try await waiter.send("BLPOP", RedisArgument(key), 0).array?.last == .bulk(Array("job-2".utf8)))
    }

    @Test("REDIS_URL parsing")
    func urlParsing() throws {
        let full = try RedisConfiguration(url: "redis://user:p%40ss@cache.internal:6390/3")
        #expect(full.host == "cache.internal")
        #expect(full.port == 6390)
        #expect(full.username == "user")
        #expect(full.password == "p@ss")
        #expect(full.database == 3)
        let bare = try RedisConfiguration(url: "redis://localhost")
        #expect(bare.port == 6379 && bare.database == 0 && bare.password == nil)
        #expect(throws: ConfigurationError.self) { try RedisConfiguration(url: "rediss://secure:6380") }
        #expect(throws: ConfigurationError.self) { try RedisConfiguration(url: "redis://host/notanumber") }
    }
}
