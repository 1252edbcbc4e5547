import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Redis
import Shared
import Testing

@testable import API

#if canImport(Glibc)
import Glibc
#endif

/// The bounds a batch meets beyond its own body: `BATCH_CONCURRENCY` (a process's batches at
/// once, checked before the body is read) and `max_queued_jobs` counted with the batch's jobs.
@Suite("Batch bounds: BATCH_CONCURRENCY and max_queued_jobs with the batch's count")
struct BatchBoundsTests {
    /// A request sent by hand over TCP, so that its body can be held half-sent.
    final class HeldRequest: @unchecked Sendable {
        let fd: Int32

        init(port: Int) throws {
            fd = try LoopbackSocket.connect(port: port)
        }

        deinit { close(fd) }

        func send(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        /// What the server answered within `timeout` (the head and what body came), or nil.
        func answer(within timeout: Double) async -> String? {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread { [fd] in
                    var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
                    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                    var buffer = [UInt8](repeating: 0, count: 65_536)
                    var received: [UInt8] = []
                    while true {
                        let count = recv(fd, &buffer, buffer.count, 0)
                        guard count > 0 else { break }
                        received += buffer[0..<count]
                        let text = String(decoding: received, as: UTF8.self)
                        if let end = text.range(of: "\r\n\r\n") {
                            let head = text[..<end.lowerBound].lowercased()
                            let length =
                                head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                            if text.utf8.count - text[..<end.upperBound].utf8.count >= length { break }
                        }
                    }
                    continuation.resume(returning: received.isEmpty ? nil : String(decoding: received, as: UTF8.self))
                }
            }
        }
    }

    static func head(_ team: Caller.CreatedTeam, length: Int) -> String {
        "POST /api/jobs/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(team.key)\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\n\r\n"
    }

    @Test("BATCH_CONCURRENCY=1: while one batch's body is held, another is a 503 with Retry-After: 1 before its body, and writes nothing")
    func concurrencyBound() async throws {
        try await TestApp.testLive(["BATCH_CONCURRENCY": "1"]) { client in
            let port = try #require(client.port)
            let api = Caller(client: client)
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 100)
            let body = BatchTests.batch([BatchTests.job(team.id, group), BatchTests.job(team.id, group)])
            let split = body.utf8.count / 2
            let first = try HeldRequest(port: port)
            first.send(Self.head(team, length: body.utf8.count) + String(body.prefix(split)))
            let second = try HeldRequest(port: port)
            second.send(Self.head(team, length: body.utf8.count) + String(body.prefix(split)))
            // One of the two holds the only place; the other is refused at once, its body unread.
            async let firstAnswer = first.answer(within: 3)
            async let secondAnswer = second.answer(within: 3)
            let answers = await [firstAnswer, secondAnswer]
            let refused = answers.compactMap { $0 }
            try #require(refused.count == 1, "\(answers)")
            #expect(refused[0].hasPrefix("HTTP/1.1 503"), "\(refused[0])")
            #expect(refused[0].lowercased().contains("retry-after: 1\r\n"), "\(refused[0])")
            #expect(refused[0].contains("Too many batches are being submitted; retry after 1 second"))
            // The held one, completed, goes through; the refused one wrote nothing.
            let held = answers[0] == nil ? first : second
            held.send(String(body.dropFirst(split)))
            let accepted = await held.answer(within: 10)
            #expect(accepted?.hasPrefix("HTTP/1.1 202") == true, "\(accepted ?? "no answer")")
            #expect(try await BatchTests.jobCount(team.id) == 2)
            // The place is given back: the next batch passes.
            let next = try await api.team(team.key, .post, "/api/jobs/batch", BatchTests.batch([BatchTests.job(team.id, group)]))
            #expect(next.status == .accepted, "\(next.summary)")
            // And after a batch that failed (a bad envelope), too.
            #expect(try await api.team(team.key, .post, "/api/jobs/batch", "{").status == .badRequest)
            let after = try await api.team(team.key, .post, "/api/jobs/batch", BatchTests.batch([BatchTests.job(team.id, group)]))
            #expect(after.status == .accepted, "\(after.summary)")
            try await Self.dequeue(team.id)
        }
    }

    @Test("max_queued_jobs 10 with 9 waiting: a batch of 5 is a 429 naming the limit and writes nothing; a batch of 1 passes")
    func maxQueuedCountsTheBatch() async throws {
        try await Caller.run { api in
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 1000)
            #expect(try await api.admin(.put, "/api/teams/\(team.id)/limits", #"{"max_queued_jobs": 10}"#).status == .ok)
            for _ in 0..<9 {
                let accepted = try await api.team(team.key, .post, "/api/jobs/create", BatchTests.job(team.id, group))
                #expect(accepted.status == .accepted, "\(accepted.summary)")
            }
            let five = BatchTests.batch((0..<5).map { _ in BatchTests.job(team.id, group) })
            let refused = try await api.team(team.key, .post, "/api/jobs/batch", five)
            #expect(refused.status == .tooManyRequests, "\(refused.summary)")
            #expect(refused.detail == "Rate limit exceeded: max_queued_jobs")
            #expect(refused.headers[.retryAfter] == "1")
            #expect(try await BatchTests.jobCount(team.id) == 9)
            let one = try await api.team(team.key, .post, "/api/jobs/batch", BatchTests.batch([BatchTests.job(team.id, group)]))
            #expect(one.status == .accepted, "\(one.summary)")
            #expect(try await BatchTests.jobCount(team.id) == 10)
            // Full now: even a batch of one is refused (before its body, as a single submit).
            let full = try await api.team(team.key, .post, "/api/jobs/batch", BatchTests.batch([BatchTests.job(team.id, group)]))
            #expect(full.status == .tooManyRequests, "\(full.summary)")
            try await Self.dequeue(team.id)
        }
    }

    /// The test's jobs leave the shared queue.
    static func dequeue(_ teamID: String) async throws {
        let ids = try await Database.with { postgres in
            try await postgres.query("SELECT job_id FROM jobs WHERE team_id = $1", [.text(teamID)]).map { try $0.decode("job_id", as: UUID.self) }
        }
        let redis = RedisClient(configuration: try RedisConfiguration(url: TestApp.redisURL))
        defer { redis.shutdown() }
        try await RedisJobQueue(redis: redis).remove(ids, completed: [])
    }
}
