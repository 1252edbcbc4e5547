import Foundation
import Logging
import Synchronization
import Testing

@testable import Telemetry

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `LOG_FORMAT=text`: swift-log's line shape, written by ``TextLogHandler`` without a libc
/// formatter per line.
@Suite("Text log lines (LOG_FORMAT=text)")
struct TextLogHandlerTests {
    /// 2026-11-30T05:19:02Z.
    static let second = 1_796_015_942

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("a line is timestamp, level, label, sorted metadata, source and message, with one newline")
    func shape() {
        let line = TextLogHandler.line(
            epochSecond: Self.second,
            offset: 0,
            level: .info,
            label: "saas-api",
            metadata: [("hb.request.id", .string("abc")), ("hb.request.method", .string("GET")), ("n", .stringConvertible(3))],
            source: "Hummingbird",
            message: "Request"
        )
        #expect(
            Self.text(line) == "2026-11-30T05:19:02+0000 info saas-api: hb.request.id=abc hb.request.method=GET n=3 [Hummingbird] Request\n"
        )
        let bare = TextLogHandler.line(epochSecond: Self.second, offset: 0, level: .warning, label: "", metadata: [], source: "S", message: "m")
        #expect(Self.text(bare) == "2026-11-30T05:19:02+0000 warning: [S] m\n")
    }

    @Test("the timestamp follows the second, the day, the year and the offset")
    func timestampsAcrossSeconds() {
        func stamp(_ second: Int, offset: Int) -> String {
            var out: [UInt8] = []
            LogTimestamp.appendLocal(epochSecond: second, offset: offset, to: &out)
            return Self.text(out)
        }
        #expect(stamp(Self.second, offset: 0) == "2026-11-30T05:19:02+0000")
        #expect(stamp(Self.second + 1, offset: 0) == "2026-11-30T05:19:03+0000")
        #expect(stamp(Self.second + 58, offset: 0) == "2026-11-30T05:20:00+0000")
        #expect(stamp(1_798_761_599, offset: 0) == "2026-12-31T23:59:59+0000")
        #expect(stamp(1_798_761_600, offset: 0) == "2027-01-01T00:00:00+0000")
        #expect(stamp(1_709_164_800, offset: 0) == "2024-02-29T00:00:00+0000")
        #expect(stamp(0, offset: 0) == "1970-01-01T00:00:00+0000")
        #expect(stamp(-1, offset: 0) == "1969-12-31T23:59:59+0000")
        #expect(stamp(Self.second, offset: 19_800) == "2026-11-30T10:49:02+0530")
        #expect(stamp(Self.second, offset: -12_600) == "2026-11-30T01:49:02-0330")
        #expect(stamp(Self.second, offset: 45_900) == "2026-11-30T18:04:02+1245")
    }

    @Test("local timestamps are strftime's %Y-%m-%dT%H:%M:%S%z, UTC ones gmtime's, over two centuries")
    func matchesLibc() {
        var generator = SystemRandomNumberGenerator()
        var seconds = [0, 86_399, 86_400, 951_782_400, 4_107_542_399, 4_102_444_800]
        for _ in 0..<5_000 { seconds.append(Int.random(in: 0...4_102_444_800, using: &generator)) }
        for second in seconds {
            var time = time_t(second)
            var parts = tm()
            localtime_r(&time, &parts)
            var buffer = [CChar](repeating: 0, count: 64)
            strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
            var ours: [UInt8] = []
            LogTimestamp.appendLocal(epochSecond: second, to: &ours)
            let expected = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(Self.text(ours) == expected, "second \(second)")

            gmtime_r(&time, &parts)
            strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
            let utc = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(RFC3339.format(seconds: second, milliseconds: second % 1000) == utc + "." + String(format: "%03d", second % 1000) + "Z")
        }
    }

    @Test("the line is the one swift-log's StreamLogHandler writes for the same event, timestamp aside")
    func sameAsStreamLogHandler() throws {
        struct Failure: Error, CustomStringConvertible { var description: String { "it broke" } }
        let provider = Logger.MetadataProvider { ["provided": "p", "shared": "from-provider"] }
        let events = [
            LogEvent(level: .info, message: "Request", metadata: nil, source: "Hummingbird", file: "f", function: "g", line: 1),
            LogEvent(
                level: .error,
                message: "failed \"x\" = y",
                error: Failure(),
                metadata: ["shared": "from-event", "list": ["a", "b"], "nested": ["k": "v"], "count": .stringConvertible(42)],
                source: "API",
                file: "f",
                function: "g",
                line: 2
            ),
            LogEvent(level: .debug, message: "", metadata: [:], source: "", file: "f", function: "g", line: 3),
        ]
        for label in ["saas-api", ""] {
            for withProvider in [false, true] {
                for event in events {
                    let capture = Capture()
                    var theirs = StreamLogHandler(label: label, stream: capture, metadataProvider: withProvider ? provider : nil)
                    theirs[metadataKey: "hb.request.id"] = "id-1"
                    theirs[metadataKey: "shared"] = "from-handler"
                    theirs.logLevel = .trace
                    theirs.log(event: event)

                    let (read, write) = try Self.makePipe()
                    defer { close(read) }
                    var ours = TextLogHandler(label: label, descriptor: write, metadataProvider: withProvider ? provider : nil)
                    ours[metadataKey: "hb.request.id"] = "id-1"
                    ours[metadataKey: "shared"] = "from-handler"
                    ours.log(event: event)
                    close(write)
                    let line = Self.readAll(read)

                    let expected = capture.text
                    #expect(line.dropFirst(24) == expected.dropFirst(24))
                    #expect(line.utf8.count == expected.utf8.count)
                }
            }
        }
    }

    @Test("lines written at once from many tasks come out whole, one per write")
    func concurrentWritersWriteWholeLines() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("text-log-\(UUID().uuidString).log").path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o600)
        try #require(descriptor >= 0)
        defer {
            close(descriptor)
            unlink(path)
        }
        let writers = 8
        let linesEach = 200
        let filler = String(repeating: "x", count: 3000)
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var logger = Logger(label: "t") { TextLogHandler(label: $0, descriptor: descriptor, metadataProvider: nil) }
                    logger[metadataKey: "writer"] = "\(writer)"
                    for line in 0..<linesEach {
                        logger.info("line-\(line) \(filler)")
                    }
                }
            }
        }
        let contents = try String(contentsOfFile: path, encoding: .utf8)
        let lines = contents.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == writers * linesEach + 1)
        #expect(lines.last == "")
        var seen = Set<String>()
        for line in lines.dropLast() {
            let parts = line.split(separator: " ", maxSplits: 6)
            #expect(parts.count == 7)
            #expect(parts[1] == "info" && parts[2] == "t:" && parts[4] == "[SharedTests]")
            #expect(parts[6] == filler)
            seen.insert("\(parts[3]) \(parts[5])")
        }
        #expect(seen.count == writers * linesEach)
    }

    @Test("the json handler's line carries its timestamp and leaves whole")
    func jsonHandlerLine() throws {
        let (read, write) = try Self.makePipe()
        defer { close(read) }
        var handler = JSONLogHandler(label: "x", descriptor: write)
        handler[metadataKey: "a"] = "1"
        handler.log(event: LogEvent(level: .notice, message: "hello", metadata: ["b": "2"], source: "S", file: "f", function: "g", line: 1))
        close(write)
        let line = Self.readAll(read)
        #expect(line.hasSuffix("\n") && line.filter { $0 == "\n" }.count == 1)
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let timestamp = try #require(object["timestamp"] as? String)
        #expect(timestamp.count == 24 && timestamp.hasSuffix("Z"))
        #expect(object["metadata"] as? [String: String] == ["a": "1", "b": "2"])
        #expect(object["message"] as? String == "hello")
    }

    @Test("LOG_FORMAT=text bootstraps this handler")
    func formatPicksHandler() {
        #expect(LogFormat.text.handler(label: "x", level: .notice) is TextLogHandler)
        #expect(LogFormat.text.handler(label: "x", level: .notice).logLevel == .notice)
    }

    /// `StreamLogHandler`'s output, kept.
    private final class Capture: TextOutputStream, Sendable {
        private let storage = Mutex("")
        var text: String { storage.withLock { $0 } }
        func write(_ string: String) { storage.withLock { $0 += string } }
    }

    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        return (ends[0], ends[1])
    }

    private static func readAll(_ descriptor: Int32) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
