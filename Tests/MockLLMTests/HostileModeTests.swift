import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MockLLM

#if canImport(Glibc)
import Glibc
#endif

@Suite("Hostile mode: answers drawn from a seeded catalogue")
struct HostileModeTests {
    /// The kinds whose answers take seconds (trickle) or end the connection (reset): kept out of the
    /// tests that make many calls in `.router` mode, and tested over a real connection below.
    static let transportKinds: [HostileKind] = [.trickle, .resetMidBody]

    // MARK: the draw

    @Test("the same seed draws the same sequence; another seed another one")
    func reproducibleDraw() {
        let first = (1...500).map(HostileSettings(seed: 42).kind(forCall:))
        let again = (1...500).map(HostileSettings(seed: 42).kind(forCall:))
        let other = (1...500).map(HostileSettings(seed: 43).kind(forCall:))
        #expect(first == again)
        #expect(first != other)
        // the n-th draw is SplitMix64's n-th output: a sequential generator gives the same kinds
        var generator = SplitMix64(seed: 42)
        let sequential = (1...500).map { _ in HostileKind.allCases[Int(generator.next() % UInt64(HostileKind.allCases.count))] }
        #expect(first == sequential)
    }

    @Test("every kind of the catalogue is drawn within 2,000 calls, none far from its share")
    func everyKindDrawn() {
        let settings = HostileSettings(seed: 42)
        var counts: [HostileKind: Int] = [:]
        for call in 1...2000 { counts[settings.kind(forCall: call), default: 0] += 1 }
        let missing = HostileKind.allCases.filter { counts[$0] == nil }
        #expect(missing.isEmpty, "never drawn: \(missing)")
        let share = 2000 / HostileKind.allCases.count
        #expect(counts.values.allSatisfy { $0 > share / 4 && $0 < share * 4 }, "\(counts)")
    }

    @Test("a subset of kinds draws only from it")
    func subset() {
        let settings = HostileSettings(seed: 9, kinds: [.ok, .retryAfter1e308])
        #expect(Set((1...200).map(settings.kind(forCall:))) == [.ok, .retryAfter1e308])
    }

    @Test("over HTTP, both dialects share the counter; the same seed replays the same answers")
    func reproducibleOverHTTP() async throws {
        let kinds = HostileKind.allCases.filter { !Self.transportKinds.contains($0) && $0 != .hugeBody10MB }
        let put = #"{"hostile":{"seed":7,"kinds":[\#(kinds.map { "\"\($0.rawValue)\"" }.joined(separator: ","))]}}"#
        try await withMock { client in
            func run() async throws -> [String] {
                try await client.setBehaviour(put)
                var seen: [String] = []
                for call in 0..<40 {
                    let response = call.isMultiple(of: 2) ? try await client.chat(chatBody()) : try await client.messages(messagesBody())
                    seen.append(response.header("x-mock-hostile-kind") ?? "none")
                }
                return seen
            }
            let first = try await run()
            let second = try await run()
            let expected = HostileSettings(seed: 7, kinds: kinds)
            #expect(first == (1...40).map { expected.kind(forCall: $0).rawValue })
            #expect(first == second)
        }
    }

    // MARK: each kind

    struct Case: Sendable, CustomTestStringConvertible {
        var kind: HostileKind
        var dialect: Dialect
        var testDescription: String { "\(kind.rawValue) (\(dialect == .openAI ? "openai" : "anthropic"))" }
    }

    static let cases: [Case] = HostileKind.allCases.filter { !transportKinds.contains($0) }.flatMap {
        [Case(kind: $0, dialect: .openAI), Case(kind: $0, dialect: .anthropic)]
    }

    @Test("each kind answers as described, in each dialect", arguments: cases)
    func eachKind(_ test: Case) async throws {
        try await withMock { client in
            try await client.setBehaviour(#"{"hostile":{"seed":1,"kinds":["\#(test.kind.rawValue)"]}}"#)
            let response = test.dialect == .openAI ? try await client.chat(chatBody()) : try await client.messages(messagesBody())
            #expect(response.header("x-mock-hostile-kind") == test.kind.rawValue)
            #expect(response.status.code == Self.status(test.kind))
            Self.check(test.kind, response, presentedKey: test.dialect == .openAI ? "sk-test" : "sk-ant-test")
            let stats = try await client.stats()
            #expect(stats["hostile"] as? [String: Int] == [test.kind.rawValue: 1])
            #expect(stats["behaviour_failures"] as? Int == 0)
        }
    }

    @Test("trickle: the whole body, a few bytes at a time over about four seconds")
    func trickle() async throws {
        try await buildMockApplication(behaviour: MockBehaviour(hostile: HostileSettings(seed: 1, kinds: [.trickle]))).test(.live) { client in
            let start = ContinuousClock.now
            let response = try await client.chat(chatBody())
            #expect(ContinuousClock.now - start >= .seconds(3))
            #expect(response.status == .ok)
            #expect(response.message?["content"] is String, "the body arrived whole: \(response.text)")
        }
    }

    @Test("reset_mid_body: the head and part of the announced body, then a TCP reset")
    func resetMidBody() async throws {
        try await buildMockApplication(behaviour: MockBehaviour(hostile: HostileSettings(seed: 1, kinds: [.resetMidBody]))).test(.live) { client in
            let port = try #require(client.port)
            let body = chatBody()
            let request =
                "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer sk-test\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            let (received, error) = try await RawHTTP.exchange(port: port, request: request)
            let text = String(decoding: received, as: UTF8.self)
            let parts = text.components(separatedBy: "\r\n\r\n")
            #expect(parts.first?.hasPrefix("HTTP/1.1 200") == true, "\(text)")
            let announced = parts.first?.components(separatedBy: "\r\n")
                .first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
            let delivered = parts.dropFirst().joined(separator: "\r\n\r\n").utf8.count
            #expect(announced.map { delivered > 0 && delivered < $0 } == true, "delivered \(delivered) of \(announced ?? -1)")
            #expect(error == ECONNRESET, "ended by errno \(error), not a reset")
        }
    }

    // MARK: the redirect trap, the behaviour, the flag

    @Test("redirects point at /_mock/redirect-target, whose hits are counted (and reset with the stats)")
    func redirectTarget() async throws {
        try await withMock { client in
            try await client.setBehaviour(#"{"hostile":{"seed":3,"kinds":["redirect_307","redirect_303"]}}"#)
            let redirect = try await client.chat(chatBody())
            #expect([303, 307].contains(redirect.status.code))
            #expect(redirect.header("location")?.hasSuffix("/_mock/redirect-target") == true)
            #expect(try await client.stats()["redirect_target_hits"] as? Int == 0, "answering a redirect is not a hit")

            #expect(try await client.execute(uri: "/_mock/redirect-target", method: .post).status == .ok)
            #expect(try await client.execute(uri: "/_mock/redirect-target", method: .get).status == .ok)
            let stats = try await client.stats()
            #expect(stats["redirect_target_hits"] as? Int == 2)
            #expect(stats["total"] as? Int == 1, "the trap is a control route: not in the call counters")

            _ = try await client.execute(uri: "/_mock/stats/reset", method: .post)
            let reset = try await client.stats()
            #expect(reset["redirect_target_hits"] as? Int == 0)
            #expect(reset["hostile"] as? [String: Int] == [:])
        }
    }

    @Test("PUT turns the mode on and off; bad settings are refused with 400 and change nothing")
    func behaviour() async throws {
        try await withMock { client in
            let on = try await client.setBehaviour(#"{"hostile":{"seed":42}}"#)
            #expect(on.text.hasSuffix(#","hostile":{"seed":42}}"#))
            let excluded = try await client.setBehaviour(#"{"hostile":{"seed":5,"kinds":["trickle","ok","html_200"],"exclude":["html_200"]}}"#)
            #expect(excluded.text.hasSuffix(#","hostile":{"seed":5,"kinds":["ok","trickle"]}}"#))
            let everythingBut = try await client.setBehaviour(#"{"hostile":{"seed":6,"exclude":["retry_after_inf"]}}"#)
            #expect(everythingBut.json?["hostile"].flatMap { ($0 as? [String: Any])?["kinds"] as? [String] }?.count == HostileKind.allCases.count - 1)
            let subset = try await client.setBehaviour(#"{"hostile":{"seed":5,"kinds":["trickle","ok","ok"]}}"#)
            #expect(subset.text.hasSuffix(#","hostile":{"seed":5,"kinds":["ok","trickle"]}}"#), "catalogue order, no duplicates")
            for refused in [
                #"{"hostile":{"seed":-1}}"#, #"{"hostile":{"seed":"x"}}"#, #"{"hostile":{}}"#, #"{"hostile":{"seed":1,"kinds":[]}}"#,
                #"{"hostile":{"seed":1,"kinds":["explode"]}}"#, #"{"hostile":{"seed":1,"speed":2}}"#, #"{"hostile":42}"#,
                #"{"hostile":{"seed":1,"kinds":["ok"],"exclude":["ok"]}}"#, #"{"hostile":{"seed":1,"exclude":["explode"]}}"#,
            ] {
                let response = try await client.execute(uri: "/_mock/behaviour", method: .put, body: ByteBuffer(string: refused))
                #expect(response.status == .badRequest, "\(refused)")
            }
            #expect(try await client.execute(uri: "/_mock/behaviour", method: .get).text == subset.text)

            let off = try await client.setBehaviour(#"{"hostile":null}"#)
            #expect(off.text == BehaviourTests.defaults)
            let normal = try await client.chat(chatBody())
            #expect(normal.status == .ok)
            #expect(normal.header("x-mock-hostile-kind") == nil)
        }
    }

    @Test("--hostile-seed turns the mode on at start")
    func flag() throws {
        #expect(try MockLLM.parse(["--hostile-seed", "42"]).behaviour.hostile == HostileSettings(seed: 42))
        #expect(try MockLLM.parse([]).behaviour.hostile == nil)
        #expect(throws: (any Error).self) { try MockLLM.parse(["--hostile-seed", "-1"]) }
    }

    // MARK: expectations per kind

    static func status(_ kind: HostileKind) -> Int {
        switch kind {
        case .ok, .rateLimitReset99999999h, .rateLimitResetOverflow, .anthropicRateLimitYear9999, .anthropicRateLimitGarbage,
            .truncatedJSON, .choicesString, .choicesEmpty, .usageString, .usageNegative, .usage1e30, .usage9e18, .usageInt64Max,
            .contentNUL, .contentLoneSurrogate, .contentNotString, .invalidUTF8, .errorBody200, .deepNesting, .toolCallsObject,
            .toolCallsBadArguments, .hugeBody10MB, .trickle, .resetMidBody, .html200, .jsonAsTextPlain, .sseStream, .empty200:
            200
        case .created201: 201
        case .accepted202: 202
        case .noContent204: 204
        case .redirect301: 301
        case .redirect302: 302
        case .redirect303: 303
        case .redirect307, .redirectCrossOrigin: 307
        case .redirect308: 308
        case .badRequest400: 400
        case .unauthorized401, .unauthorized401Echo: 401
        case .paymentRequired402: 402
        case .forbidden403: 403
        case .notFound404: 404
        case .requestTimeout408: 408
        case .conflict409: 409
        case .contentTooLarge413: 413
        case .teapot418: 418
        case .unprocessable422: 422
        case .rateLimited429, .retryAfterHTTPDate, .retryAfterPastDate, .retryAfterYear9999, .retryAfterNegative, .retryAfter1e308,
            .retryAfterInf, .retryAfterNaN, .retryAfterGarbage, .retryAfterEmpty, .retryAfter20Digits, .retryAfterMs1e308,
            .retryAfterMsNegative:
            429
        case .serverError500: 500
        case .badGateway502HTML: 502
        case .unavailable503, .unavailable503RetryAfterHuge: 503
        case .overloaded529: 529
        case .unusual599: 599
        }
    }

    /// What is particular to a kind, beyond its status.
    static func check(_ kind: HostileKind, _ response: TestResponse, presentedKey: String) {
        let text = response.text
        let type = response.header("content-type") ?? ""
        switch kind {
        case .ok, .created201:
            #expect(response.json != nil && type == "application/json")
        case .noContent204, .empty200:
            #expect(response.body.readableBytes == 0)
        case .redirect301, .redirect302, .redirect303, .redirect307, .redirect308:
            #expect(response.header("location")?.hasSuffix("/_mock/redirect-target") == true)
        case .redirectCrossOrigin:
            #expect(response.header("location")?.hasSuffix("/_mock/redirect-target") == true)
        case .unauthorized401:
            #expect(text.contains("Incorrect API key provided: \(HostileAnswer.maskedKey)"))
            #expect(!text.contains(presentedKey))
        case .unauthorized401Echo:
            #expect(text.contains("Incorrect API key provided: \(presentedKey)."))
        case .rateLimited429:
            #expect(response.header("retry-after") == "1" && response.header("retry-after-ms") == "1000")
        case .retryAfterHTTPDate:
            #expect(response.header("retry-after")?.hasSuffix(" GMT") == true)
        case .retryAfterPastDate: #expect(response.header("retry-after") == "Sun, 06 Nov 1994 08:49:37 GMT")
        case .retryAfterYear9999: #expect(response.header("retry-after") == "Fri, 31 Dec 9999 23:59:59 GMT")
        case .retryAfterNegative: #expect(response.header("retry-after") == "-30")
        case .retryAfter1e308, .unavailable503RetryAfterHuge: #expect(response.header("retry-after") == "1e308")
        case .retryAfterInf: #expect(response.header("retry-after") == "inf")
        case .retryAfterNaN: #expect(response.header("retry-after") == "NaN")
        case .retryAfterGarbage: #expect(response.header("retry-after").map { Double($0) == nil } == true)
        case .retryAfterEmpty: #expect(response.header("retry-after") == "")
        case .retryAfter20Digits: #expect(response.header("retry-after") == "99999999999999999999")
        case .retryAfterMs1e308: #expect(response.header("retry-after-ms") == "1e308")
        case .retryAfterMsNegative: #expect(response.header("retry-after-ms") == "-1000")
        case .rateLimitReset99999999h:
            #expect(response.header("x-ratelimit-remaining-requests") == "0" && response.header("x-ratelimit-reset-requests") == "99999999h")
            #expect(response.json != nil)
        case .rateLimitResetOverflow:
            #expect(response.header("x-ratelimit-remaining-tokens") == "0")
        case .anthropicRateLimitYear9999:
            #expect(response.header("anthropic-ratelimit-requests-remaining") == "0")
            #expect(response.header("anthropic-ratelimit-requests-reset") == "9999-12-31T23:59:59Z")
        case .anthropicRateLimitGarbage:
            #expect(response.header("anthropic-ratelimit-tokens-remaining") == "0")
        case .truncatedJSON, .deepNesting:
            #expect(response.json == nil)
        case .invalidUTF8:
            #expect(response.body.readableBytesView.contains(0xFF), "the bytes on the wire are not UTF-8")
        case .choicesString:
            #expect(text.contains(#""oops""#) && response.json != nil)
        case .usageInt64Max:
            #expect(text.contains(#"9223372036854775807,"#))
        case .usage9e18:
            #expect(text.contains("9e18"))
        case .usage1e30:
            #expect(text.contains("1e30"))
        case .contentNUL:
            #expect(text.contains(#""a\u0000b""#))
        case .contentLoneSurrogate:
            #expect(text.contains(#""\ud800""#))
        case .hugeBody10MB:
            #expect(response.body.readableBytes >= 10_000_000)
            #expect(response.json != nil)
        case .html200, .badGateway502HTML:
            #expect(type.hasPrefix("text/html") && text.contains("<html"))
        case .jsonAsTextPlain:
            #expect(type.hasPrefix("text/plain") && response.json != nil)
        case .sseStream:
            #expect(type == "text/event-stream" && text.hasPrefix(text.contains("event:") ? "event: message_start" : "data: "))
        case .overloaded529, .serverError500, .unavailable503, .unusual599, .badRequest400, .paymentRequired402, .forbidden403,
            .notFound404, .requestTimeout408, .conflict409, .contentTooLarge413, .teapot418, .unprocessable422, .errorBody200:
            #expect(response.json != nil, "an error body in the dialect's JSON")
        case .accepted202, .usageString, .usageNegative, .choicesEmpty, .contentNotString, .toolCallsObject:
            #expect(response.json != nil, "valid JSON of the wrong shape")
        case .toolCallsBadArguments:
            // `1e400` inside: valid JSON grammar, beyond any parser's Double
            #expect(text.contains("1e400") || text.contains("\"input\":[1,2,3]"))
        case .trickle, .resetMidBody:
            break
        }
    }
}

/// One HTTP/1.1 exchange over a plain socket, read until the peer closes or resets: what a client
/// library hides (a reset, a short body) is what the transport kinds are about.
enum RawHTTP {
    /// - Returns: the bytes received, and the `errno` that ended the read (0 for an orderly close).
    static func exchange(port: Int, request: String) async throws -> (bytes: [UInt8], error: Int32) {
        try await Task.detached {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw POSIXError(.EIO) }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
            // A mock that never answers fails the test (EAGAIN) instead of hanging the suite.
            var limit = timeval(tv_sec: 60, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            _ = request.withCString { send(fd, $0, strlen($0), 0) }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count > 0 {
                    received.append(contentsOf: buffer[0..<count])
                    continue
                }
                return (received, count == 0 ? 0 : errno)
            }
        }.value
    }
}
