import ArgumentParser
import Foundation
import Shared
import UUIDText

/// `saas-bench codecs`: what each per-job piece of text handling costs in the worker, through
/// Foundation and through the service's direct paths that replaced it (issue 13) — a stored job
/// request decoded, an upstream's answer read, a request body written, ids read and made.
///
/// Whole-system benchmarks on two shared cores cannot see a few microseconds a job through their
/// noise; this measures them apart, on one thread, each pair in alternating rounds so that a
/// slow moment of the machine falls on both. Prints one JSON line: per operation, nanoseconds
/// through Foundation, through the direct path, and their ratio.
struct CodecsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codecs",
        abstract: "Per-job text handling: Foundation's codecs against the direct paths."
    )

    @Option(help: "Operations per round.")
    var operations: Int = 20_000

    @Option(help: "Rounds of each side, alternating.")
    var rounds: Int = 5

    func validate() throws {
        guard (100...10_000_000).contains(operations), (1...100).contains(rounds) else {
            throw ValidationError("--operations within 100…10,000,000 and --rounds within 1…100")
        }
    }

    /// A request as the API stores it for a chat job (`JSONText`'s sorted keys).
    static let storedRequest = Data(
        #"{"max_tokens":256,"messages":[{"content":"You are a careful analyst.","role":"system"},{"content":"Summarise the attached report in three bullet points, naming every figure.","role":"user"}],"temperature":0.2}"#
            .utf8
    )

    /// A chat completion as the mock upstream answers one.
    static let answer = Data(
        #"{"id":"chatcmpl-be46c08fc54497403db9429d24dd3dc2","object":"chat.completion","created":1796076403,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"mock analysis of 28 characters: Hello there, summarize this. [47f5c79d]","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":18,"total_tokens":28},"system_fingerprint":"fp_mock"}"#
            .utf8
    )

    func run() throws {
        let work = try JSONDecoder().decode(JobWork.self, from: Self.storedRequest)
        let body: [String: JSONValue] = [
            "model": .string("bench"), "messages": .array(work.messages ?? []), "max_tokens": .integer(256), "temperature": .number(0.2),
        ]
        let ids = (0..<1024).map { _ in UUIDText.lowercased(UUID.random()) }
        var sink = 0
        let pairs: [(String, foundation: () throws -> Int, direct: () throws -> Int)] = [
            (
                "decode_request",
                { try JSONDecoder().decode(JobWork.self, from: Self.storedRequest).messages?.count ?? 0 },
                { try JSONValueDecoder().decode(JobWork.self, from: Self.storedRequest).messages?.count ?? 0 }
            ),
            (
                "read_answer",
                { try JSONDecoder().decode(JSONValue.self, from: Self.answer).objectValue?.count ?? 0 },
                { JSONValueReader.value(Self.answer)?.objectValue?.count ?? 0 }
            ),
            (
                "write_request_body",
                { try JSONEncoder().encode(body).count },
                { JSONValueText.bytes(of: body)?.count ?? 0 }
            ),
            (
                "parse_id",
                {
                    sink &+= 1
                    return UUID(uuidString: ids[sink & 1023]) == nil ? 0 : 1
                },
                {
                    sink &+= 1
                    return UUIDText.parse(ids[sink & 1023]) == nil ? 0 : 1
                }
            ),
            ("make_id", { UUID().hashValue & 1 }, { UUID.random().hashValue & 1 }),
        ]
        var fields: [String] = [#""bench":"codecs""#, #""operations":\#(operations)"#, #""rounds":\#(rounds)"#]
        for (name, foundation, direct) in pairs {
            var foundationTime = Duration.zero
            var directTime = Duration.zero
            for _ in 0..<rounds {
                foundationTime += try time { sink &+= try foundation() }
                directTime += try time { sink &+= try direct() }
            }
            let count = Double(operations * rounds)
            let foundationNS = foundationTime / .nanoseconds(1) / count
            let directNS = directTime / .nanoseconds(1) / count
            fields.append(
                #""\#(name)":{"foundation_ns":\#(BenchReport.format(foundationNS, places: 0)),"direct_ns":\#(BenchReport.format(directNS, places: 0)),"ratio":\#(BenchReport.format(directNS / foundationNS, places: 3))}"#
            )
        }
        fields.append(#""checksum":\#(sink & 0xFFFF)"#)
        print("{" + fields.joined(separator: ",") + "}")
    }

    private func time(_ body: () throws -> Void) throws -> Duration {
        let started = ContinuousClock.now
        for _ in 0..<operations { try body() }
        return ContinuousClock.now - started
    }
}
