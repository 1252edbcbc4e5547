import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import API

/// One line per answer, at `info` when an operator needs it (refused, failed, slow, or the
/// sampled one in N), at `debug` otherwise.
@Suite("Access log: every refusal at info, successes sampled")
struct AccessLogTests {
    /// What a logger was asked to log: level, message and the access line's fields.
    final class Lines: Sendable {
        struct Line: Sendable {
            var level: Logger.Level
            var message: String
            var metadata: [String: String]
        }

        let lines = Mutex<[Line]>([])

        func handler() -> some LogHandler {
            Handler(lines: self)
        }

        var answered: [Line] { lines.withLock { $0.filter { $0.message == "Answered" } } }

        private struct Handler: LogHandler {
            let lines: Lines
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .trace

            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }

            func log(event: LogEvent) {
                let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
                lines.lines.withLock {
                    $0.append(Line(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
                }
            }
        }
    }

    static func app(sample: Int, lines: Lines) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: AccessLogMiddleware(sample: sample))
        router.get("/ok") { _, _ in "ok" }
        router.get("/refused") { _, _ -> String in throw HTTPError(.forbidden, message: "no") }
        return Application(router: router, logger: Logger(label: "access-log-test") { _ in lines.handler() })
    }

    @Test("with a sample of 3, one success in three is at info and the others at debug; each line has its fields")
    func sampledSuccesses() async throws {
        let lines = Lines()
        try await Self.app(sample: 3, lines: lines).test(.router) { client in
            for _ in 0..<9 {
                try await client.execute(uri: "/ok", method: .get) { #expect($0.status == .ok) }
            }
        }
        let answered = lines.answered
        #expect(answered.count == 9)
        #expect(answered.filter { $0.level == .info }.count == 3)
        #expect(answered.filter { $0.level == .debug }.count == 6)
        let line = try #require(answered.first)
        #expect(line.metadata["hb.request.method"] == "GET")
        #expect(line.metadata["hb.request.path"] == "/ok")
        #expect(line.metadata["http.status"] == "200")
        #expect(line.metadata["duration_ms"].flatMap(Double.init).map { $0 >= 0 } == true)
    }

    @Test("every refusal is at info, whatever the sample; with sample 0 no success is")
    func refusalsAlways() async throws {
        let lines = Lines()
        try await Self.app(sample: 0, lines: lines).test(.router) { client in
            for _ in 0..<4 {
                try await client.execute(uri: "/ok", method: .get) { #expect($0.status == .ok) }
                try await client.execute(uri: "/refused", method: .get) { #expect($0.status == .forbidden) }
            }
        }
        let answered = lines.answered
        #expect(answered.count == 8)
        #expect(answered.filter { $0.metadata["http.status"] == "403" }.allSatisfy { $0.level == .info })
        #expect(answered.filter { $0.metadata["http.status"] == "200" }.allSatisfy { $0.level == .debug })
        #expect(answered.filter { $0.metadata["http.status"] == "403" }.count == 4)
    }
}
