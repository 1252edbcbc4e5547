import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MockLLM

/// The `stream_stamp` knob: a streamed text answer starts with `[t=<µs since the epoch>] `, the
/// moment the mock wrote it, so `saas-bench streams` can measure the first delta's way through
/// the worker and the API.
@Suite("Stream stamp")
struct StreamStampTests {
    /// The microseconds of a `[t=…] ` stamp; nil when the text is not one.
    static func stamp(_ text: String) -> Int64? {
        guard text.hasPrefix("[t="), text.hasSuffix("] ") else { return nil }
        return Int64(text.dropFirst(3).dropLast(2))
    }

    static func nowMicroseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

    @Test("On: the first delta of a text answer is the time it was written; the rest is the answer; tool calls untouched; off by default")
    func stampedDeltas() async throws {
        try await withMock { client in
            let plain = try await client.chat(chatBody("Stamp this answer, please."))
            let before = Self.nowMicroseconds()
            let unstamped = try await client.chat(chatBody("Stamp this answer, please.", extra: #","stream":true"#))
            let off = StreamTests.deltas(StreamTests.events(unstamped.text)).compactMap { $0["content"] as? String }.filter { !$0.isEmpty }
            #expect(off.joined() == plain.message?["content"] as? String, "off by default")

            let put = try await client.setBehaviour(#"{"stream_stamp":true,"stream_delta_ms":5}"#)
            #expect(put.json?["stream_stamp"] as? Bool == true)
            let streamed = try await client.chat(chatBody("Stamp this answer, please.", extra: #","stream":true"#))
            let after = Self.nowMicroseconds()
            let pieces = StreamTests.deltas(StreamTests.events(streamed.text)).compactMap { $0["content"] as? String }.filter { !$0.isEmpty }
            let stamp = try #require(pieces.first.flatMap(Self.stamp), "first delta: \(pieces.first ?? "none")")
            #expect(stamp >= before && stamp <= after)
            #expect(pieces.dropFirst().joined() == plain.message?["content"] as? String)

            let anthropic = try await client.messages(messagesBody("Stamp this answer, please.", extra: #","max_tokens":1024,"stream":true"#))
            let texts = StreamTests.events(anthropic.text).filter { $0.name == "content_block_delta" }
                .compactMap { ($0.json?["delta"] as? [String: Any])?["text"] as? String }
            #expect(texts.first.flatMap(Self.stamp) != nil, "Anthropic too: \(texts.first ?? "none")")
            #expect(texts.count >= 3)

            let tools =
                #","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]"#
            let plainCall = try await client.chat(chatBody(extra: tools))
            let streamedCall = try await client.chat(chatBody(extra: tools + #","stream":true"#))
            let arguments = StreamTests.deltas(StreamTests.events(streamedCall.text))
                .compactMap { (($0["tool_calls"] as? [[String: Any]])?.first?["function"] as? [String: Any])?["arguments"] as? String }
            let plainArguments = ((plainCall.message?["tool_calls"] as? [[String: Any]])?.first?["function"] as? [String: Any])?["arguments"]
            #expect(arguments.joined() == plainArguments as? String, "a tool call's arguments stay JSON")

            let refused = try await client.execute(uri: "/_mock/behaviour", method: .put, body: ByteBuffer(string: #"{"stream_stamp":"yes"}"#))
            #expect(refused.status == .badRequest)
            let reset = try await client.setBehaviour(#"{"stream_stamp":false}"#)
            #expect(reset.json?["stream_stamp"] == nil, "left out when off")
        }
    }
}
