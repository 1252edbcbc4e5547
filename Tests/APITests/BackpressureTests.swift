import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Synchronization
import Testing

@testable import API
@testable import Shared

/// Issue 8, item 14 (SYSTEM.md guarantee 12): every queue and wait line of the API is bounded;
/// past a bound the answer is 503 or 429 with `Retry-After`, never unbounded memory or latency.
@Suite("Backpressure: bounded queues and wait lines answer 503/429 with Retry-After")
struct BackpressureTests {
    /// A batch processor that holds each batch until told to go on.
    final class Counter: Sendable {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func add() { count.withLock { $0 += 1 } }
    }

    final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

        func pass() async {
            await withCheckedContinuation { continuation in
                let open = state.withLock { state in
                    if state.open { return true }
                    state.waiting.append(continuation)
                    return false
                }
                if open { continuation.resume() }
            }
        }

        /// Passers waiting now.
        var waiting: Int { state.withLock { $0.waiting.count } }

        func open() {
            let waiting = state.withLock { state in
                state.open = true
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in waiting { continuation.resume() }
        }
    }

    @Test("a Batcher with maxPending refuses the item past it with BatcherOverloaded; unbounded by default")
    func batcherBound() async throws {
        let gate = Gate()
        let batcher = Batcher<Int, Int>(maxBatch: 1, maxConcurrentBatches: 1, maxPending: 2) { items in
            await gate.pass()
            return items
        }
        let refused = Counter()
        let results = try await withThrowingTaskGroup(of: Result<Int, BatcherOverloaded>.self) { group in
            let submit: @Sendable (Int) async -> Result<Int, BatcherOverloaded> = { i in
                do { return .success(try await batcher.submit(i)) } catch {
                    refused.add()
                    return .failure(error as? BatcherOverloaded ?? BatcherOverloaded(maxPending: -1))
                }
            }
            // The first item's batch is running (held at the gate) before the others arrive —
            // waited for, not slept for, so a loaded machine changes nothing.
            group.addTask { await submit(0) }
            #expect(try await Fixture.eventually(within: .seconds(10)) { gate.waiting == 1 })
            for i in 1..<6 { group.addTask { await submit(i) } }
            #expect(try await Fixture.eventually(within: .seconds(10)) { refused.value == 3 })
            gate.open()
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // One running, two waiting; the other three refused at once.
        #expect(results.filter { if case .success = $0 { true } else { false } }.count == 3)
        #expect(results.filter { $0 == .failure(BatcherOverloaded(maxPending: 2)) }.count == 3)

        let unbounded = Batcher<Int, Int>(maxBatch: 1, maxConcurrentBatches: 1) { items in
            try await Task.sleep(for: .milliseconds(1))
            return items
        }
        let sums = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<200 { group.addTask { try await unbounded.submit(i) } }
            return try await group.reduce(0, +)
        }
        #expect(sums == (0..<200).reduce(0, +))
    }

    @Test("a full submit queue (SUBMIT_QUEUE_MAX) is a 503 with Retry-After: 1; only the 202s are written")
    func submitQueueFull() async throws {
        try await TestApp.test(["SUBMIT_QUEUE_MAX": "1"]) { client in
            let api = Caller(client: client)
            let group = try await api.createModelGroup()
            let team = try await api.createTeam(groups: [group], credits: 10_000)
            let body = #"{"team_id": "\#(team.id)", "job_type": "t", "model": "\#(group)", "messages": [{"role": "user", "content": "hi"}]}"#
            _ = try await api.team(team.key, .get, "/api/me")  // warm the key cache
            let answers = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?, String?).self) { tasks in
                for _ in 0..<200 {
                    tasks.addTask {
                        let response = try await api.team(team.key, .post, "/api/jobs/create", body)
                        return (response.status, response.headers[.retryAfter], response.detail)
                    }
                }
                return try await tasks.reduce(into: []) { $0.append($1) }
            }
            let accepted = answers.filter { $0.0 == .accepted }.count
            let refused = answers.filter { $0.0 == .serviceUnavailable }
            #expect(accepted + refused.count == answers.count, "\(Set(answers.map { $0.0.code }))")
            #expect(!refused.isEmpty, "no submit was refused")
            for answer in refused {
                #expect(answer.1 == "1")
                #expect(answer.2 == "Too many submissions are waiting; retry after 1 second")
            }
            #expect(try await Database.int("SELECT count(*) AS n FROM jobs WHERE team_id = $1", [.text(team.id)]) == accepted)
        }
    }

    @Test("the PostgreSQL pool refuses a waiter past maxWaiters and one that waited past acquireTimeout")
    func poolBounds() async throws {
        // Margins wide enough for a loaded machine: the holder keeps the one connection for 4 s,
        // the waiter gives up after 1.5 s (it would have succeeded had it waited for the holder).
        let postgres = PostgresClient(configuration: PostgresConfiguration(url: TestApp.databaseURL, poolSize: 1, maxWaiters: 1, acquireTimeout: 1.5))
        defer { postgres.shutdown() }
        let holding = Task { try await postgres.withConnection { session in try await session.query("SELECT pg_sleep(4)") } }
        try await Task.sleep(for: .milliseconds(300))
        async let waiter: Result<Void, any Error> = {
            do {
                try await postgres.query("SELECT 1")
                return .success(())
            } catch { return .failure(error) }
        }()
        try await Task.sleep(for: .milliseconds(400))
        await #expect(throws: PostgresPoolError.waitLineFull(limit: 1)) { try await postgres.query("SELECT 1") }
        let waited = await waiter
        #expect(throws: PostgresPoolError.acquireTimedOut(seconds: 1.5)) { try waited.get() }
        _ = try await holding.value
        // The pool still works once the holder is done.
        #expect(try await postgres.query("SELECT 1 AS n").first?.decode("n", as: Int.self) == 1)
    }

    @Test("a full PostgreSQL wait line is a 503 with Retry-After through the API, never a 500")
    func poolFullThroughAPI() async throws {
        try await TestApp.test(["DATABASE_POOL_SIZE": "1", "DATABASE_MAX_WAITERS": "1", "DATABASE_ACQUIRE_TIMEOUT_SECONDS": "5"]) { client in
            let api = Caller(client: client)
            _ = try await api.admin(.get, "/api/organizations?limit=1")
            let answers = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?, String?).self) { tasks in
                for _ in 0..<100 {
                    tasks.addTask {
                        let response = try await api.admin(.get, "/api/organizations?limit=1")
                        return (response.status, response.headers[.retryAfter], response.detail)
                    }
                }
                return try await tasks.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.0 == .ok || $0.0 == .serviceUnavailable }, "\(Set(answers.map { $0.0.code }))")
            let refused = answers.filter { $0.0 == .serviceUnavailable }
            #expect(!refused.isEmpty)
            for answer in refused {
                #expect(answer.1 == "1")
                #expect(answer.2 == "The database is busy; retry after 1 second")
            }
        }
    }

    @Test("long polls are capped per team and per process: 429 with Retry-After past either")
    func longPollCaps() async throws {
        try await TestApp.test(["LONG_POLLS_PER_TEAM": "2", "LONG_POLLS_MAX": "3"]) { client in
            let api = Caller(client: client)
            let group = try await api.createModelGroup()
            let first = try await api.createTeam(groups: [group], credits: 100)
            let second = try await api.createTeam(groups: [group], credits: 100)
            func submit(_ team: Caller.CreatedTeam) async throws -> String {
                let response = try await api.submitChat(team, group: group)
                return try #require(response.string("job_id"))
            }
            let firstJob = try await submit(first)
            let secondJob = try await submit(second)
            // Two polls of the first team and one of the second hold every slot for 3 s.
            let held = [(first, firstJob), (first, firstJob), (second, secondJob)].map { team, job in
                Task { try await api.team(team.key, .get, "/api/jobs/\(job)?wait=3").status }
            }
            try await Task.sleep(for: .milliseconds(700))
            let team = try await api.team(first.key, .get, "/api/jobs/\(firstJob)?wait=3")
            #expect(team.status == .tooManyRequests, "\(team.summary)")
            #expect(team.headers[.retryAfter] == "1")
            #expect(team.detail == "Too many long polls of this team are waiting; retry after 1 second")
            let process = try await api.team(second.key, .get, "/api/jobs/\(secondJob)?wait=3")
            #expect(process.status == .tooManyRequests, "\(process.summary)")
            #expect(process.headers[.retryAfter] == "1")
            #expect(process.detail == "Too many long polls are waiting; retry after 1 second")
            // A poll without wait is not a long poll and is never refused.
            #expect(try await api.team(second.key, .get, "/api/jobs/\(secondJob)").status == .ok)
            for task in held { #expect(try await task.value == .ok) }
            // The slots are free again.
            #expect(try await api.team(first.key, .get, "/api/jobs/\(firstJob)?wait=0.1").status == .ok)
        }
    }

    @Test("a stopping server answers its long polls at once with the job as it is, and its shutdown does not wait out their minute")
    func longPollAtShutdown() async throws {
        let started = ContinuousClock.now
        let polled = try await bounded("the app with a long poll in flight, and its graceful shutdown", within: .seconds(45)) {
            // One long poll per team: a second poll of the team answered 429 proves the first is
            // admitted and waiting, however slowly a loaded machine reads it.
            try await TestApp.testLive(["LONG_POLLS_PER_TEAM": "1"]) { client in
                let api = Caller(client: client)
                let port = try #require(client.port)
                let group = try await api.createModelGroup()
                let team = try await api.createTeam(groups: [group], credits: 100)
                let job = try await api.submitChat(team, group: group)
                let jobID = try #require(job.string("job_id"))
                // On a socket of its own: the test client is closed with the app.
                let poll = Generator.Request(
                    method: .get,
                    target: "/api/jobs/\(jobID)?wait=60",
                    headers: [("Authorization", "Bearer \(team.key)")],
                    body: [],
                    kind: "long poll"
                )
                // Sent again if refused: a probe below holds the team's slot for its 10 ms.
                let answer = Task {
                    while true {
                        let answer = try await HTTPOverSocket.send(port: port, poll)
                        if answer.status != 429 { return answer }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
                while try await api.team(team.key, .get, "/api/jobs/\(jobID)?wait=0.01").status != .tooManyRequests {
                    try await Task.sleep(for: .milliseconds(50))
                }
                // Admitted and waiting (no worker runs the job): the closure returns and the app
                // begins its graceful shutdown.
                return answer
            }.value
        }
        #expect(polled.status == 200, "\(polled.body)")
        #expect(polled.body.contains(#""status":"queued""#) || polled.body.contains(#""status": "queued""#), "\(polled.body)")
        #expect(ContinuousClock.now - started < .seconds(30), "the shutdown waited for the long poll's 60 s")
    }

    @Test("long polls whose clients go away, 200 at once, give their team's slots back within seconds, not after their minute")
    func longPollClientsGone() async throws {
        let count = 200
        try await bounded("long polls whose clients leave", within: .seconds(90)) {
            // The team's slots exactly fit the polls: a further poll answered 429 proves them all
            // admitted.
            try await TestApp.testLive(["LONG_POLLS_PER_TEAM": "\(count)"]) { client in
                let api = Caller(client: client)
                let port = try #require(client.port)
                let group = try await api.createModelGroup()
                let team = try await api.createTeam(groups: [group], credits: 100)
                let jobID = try #require(try await api.submitChat(team, group: group).string("job_id"))
                let poll = Array("GET /api/jobs/\(jobID)?wait=60 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(team.key)\r\n\r\n".utf8)
                func probe() async throws -> HTTPResponse.Status {
                    try await api.team(team.key, .get, "/api/jobs/\(jobID)?wait=0.01").status
                }
                func sendPoll() throws -> Int32 {
                    let fd = try LoopbackSocket.connect(port: port)
                    _ = poll.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
                    return fd
                }
                var sockets = try (0..<count).map { _ in try sendPoll() }
                while try await probe() != .tooManyRequests {
                    // Refused while a probe held a slot for its moment: sent again.
                    for index in sockets.indices where RawSocket.hasAnswer(sockets[index]) {
                        close(sockets[index])
                        sockets[index] = try sendPoll()
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                for fd in sockets { close(fd) }
                // Every slot free again: as many polls at once, none refused.
                let gone = ContinuousClock.now
                while true {
                    let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { polls in
                        for _ in 0..<count { polls.addTask { try await probe() } }
                        return try await polls.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
                    }
                    if statuses.allSatisfy({ $0 == .ok }) { break }
                    try #require(
                        ContinuousClock.now - gone < .seconds(15),
                        "slots still held by polls whose clients left: \(statuses.filter { $0 != .ok }.count) refused"
                    )
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
        }
    }

    @Test("an HTTP connection that sends nothing is closed after HTTP_IDLE_TIMEOUT_SECONDS")
    func idleConnectionClosed() async throws {
        try await TestApp.testLive(["HTTP_IDLE_TIMEOUT_SECONDS": "0.5"]) { client in
            let port = try #require(client.port)
            let started = ContinuousClock.now
            let outcome = try await RawSocket.waitForClose(port: port, sending: Array("GET /health HTTP/1.1\r\nHost: x\r\n".utf8), timeout: 5)
            #expect(outcome == .closed, "the half-sent request's connection stayed open")
            #expect(ContinuousClock.now - started < .seconds(3))
            let silent = try await RawSocket.waitForClose(port: port, sending: [], timeout: 5)
            #expect(silent == .closed, "the silent connection stayed open")
            // A client that asks gets its answer (and then the idle connection is closed too).
            let asked = try await RawSocket.waitForClose(port: port, sending: Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8), timeout: 5)
            #expect(asked == .answeredThenClosed)
        }
    }

    @Test("unknown keys are remembered as unknown, apart: a flood neither costs a lookup per request nor evicts known keys")
    func negativeKeyCache() async throws {
        // Known keys kept long enough that the flood below, on a loaded machine (a run took 38 s
        // here), tests eviction and not expiry.
        let cache = KeyCache(capacity: 100, unknownCapacity: 1000, knownFor: .seconds(600), unknownFor: .seconds(1200))
        let loads = Mutex(0)
        let known = VirtualKey.hash("sk-known")
        let identity = TeamIdentity(teamID: "t", organizationID: "o", status: .active)
        _ = try await cache.identity(for: known) {
            loads.withLock { $0 += 1 }
            return identity
        }
        let unknownKeys = (0..<500).map { VirtualKey.hash("sk-unknown-\($0)") }
        for _ in 0..<3 {
            for hash in unknownKeys {
                #expect(
                    try await cache.identity(for: hash) {
                        loads.withLock { $0 += 1 }
                        return nil
                    } == nil
                )
            }
        }
        #expect(loads.withLock { $0 } == 1 + 500, "one lookup per unknown key, not per request")
        #expect(cache.lookup(known) == .some(identity), "the flood pushed a known key out")
        // Remembered as unknown for longer than a known key's (default) half second.
        try await Task.sleep(for: .milliseconds(700))
        _ = try await cache.identity(for: unknownKeys[0]) {
            loads.withLock { $0 += 1 }
            return nil
        }
        #expect(loads.withLock { $0 } == 501)
        // A key minted here is forgotten as unknown at once.
        cache.forget(unknownKeys[1])
        #expect(
            try await cache.identity(for: unknownKeys[1]) {
                loads.withLock { $0 += 1 }
                return identity
            } == identity
        )
    }

    @Test("a lookup that raced with a mint does not remember the new key as unknown")
    func mintRace() async throws {
        let cache = KeyCache()
        let hash = VirtualKey.hash("sk-new")
        let identity = TeamIdentity(teamID: "t", organizationID: "o", status: .active)
        // The lookup reads before the mint commits, and answers after it.
        #expect(
            try await cache.identity(for: hash) {
                cache.forget(hash)
                return nil
            } == nil
        )
        #expect(try await cache.identity(for: hash) { identity } == identity)
    }

    @Test("a freshly created or rotated key works at once; a rotated-out key stops within a second")
    func freshKeyWorks() async throws {
        try await Caller.run { api in
            for _ in 0..<3 {
                let team = try await api.createTeam(credits: 5)
                #expect(try await api.team(team.key, .get, "/api/me").status == .ok)
                let rotated = try await api.admin(.post, "/api/teams/\(team.id)/rotate-key")
                let key = try #require(rotated.string("virtual_key"))
                #expect(try await api.team(key, .get, "/api/me").status == .ok)
                try await Task.sleep(for: .milliseconds(600))
                #expect(try await api.team(team.key, .get, "/api/me").status == .unauthorized)
                // Refused as unknown now, and still refused: the negative entry does not hide the new key.
                #expect(try await api.team(team.key, .get, "/api/me").status == .unauthorized)
                #expect(try await api.team(key, .get, "/api/me").status == .ok)
            }
        }
    }
}

/// A bare TCP client for what an HTTP client library will not do: send half a request, or
/// nothing, and see whether the server hangs up.
enum RawSocket {
    enum Outcome: Equatable { case closed, answeredThenClosed, stillOpen }

    /// Whether an answer (or the server's close) has come on `fd`, without waiting or reading it.
    static func hasAnswer(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK)) >= 0
    }

    static func waitForClose(port: Int, sending bytes: [UInt8], timeout: Double) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                let fd: Int32
                do { fd = try LoopbackSocket.connect(port: port) } catch { return continuation.resume(throwing: error) }
                defer { close(fd) }
                if !bytes.isEmpty { _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } }
                var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                var buffer = [UInt8](repeating: 0, count: 4096)
                var received: [UInt8] = []
                while true {
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count > 0 {
                        received += buffer[0..<count]
                        continue
                    }
                    guard count == 0 || errno == ECONNRESET else { return continuation.resume(returning: .stillOpen) }
                    let answered = String(decoding: received, as: UTF8.self).hasPrefix("HTTP/1.1 200")
                    return continuation.resume(returning: answered ? .answeredThenClosed : .closed)
                }
            }
        }
    }
}
