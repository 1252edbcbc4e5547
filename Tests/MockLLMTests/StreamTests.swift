import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import MockLLM

/// `stream: true` in both dialects: the same answer as without it, as the providers' events
/// (issue 10), paced by `stream_delta_ms`, failures still answered as errors first.
@Suite("Streamed answers")
struct StreamTests {
    /// One event of a `text/event-stream` body: its `event:` name and its data as JSON (nil for
    /// `[DONE]`).
    struct Event {
        var name: String?
        var data: String
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] }
    }

    static func events(_ body: String) -> [Event] {
        body.components(separatedBy: "\n\n").compactMap { block in
            var name: String?
            var data: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: true) {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
            }
            return data.isEmpty ? nil : Event(name: name, data: data.joined(separator: "\n"))
        }
    }

    /// `choices[0].delta` of each chunk (the usage chunk has none).
    static func deltas(_ events: [Event]) -> [[String: Any]] {
        events.compactMap { (($0.json?["choices"] as? [[String: Any]])?.first)?["delta"] as? [String: Any] }
    }

    static let include = #","stream":true,"stream_options":{"include_usage":true}"#

    @Test("OpenAI: content deltas concatenate to the non-streamed content; role first, finish reason, usage chunk, [DONE]")
    func openAIText() async throws {
        try await withMock { client in
            let plain = try await client.chat(chatBody("Stream me a short answer, please."))
            let streamed = try await client.chat(chatBody("Stream me a short answer, please.", extra: Self.include))
            #expect(streamed.status == .ok)
            #expect(streamed.header("content-type") == "text/event-stream")
            let events = Self.events(streamed.text)
            #expect(events.last?.data == "[DONE]")
            #expect(streamed.text.hasSuffix("data: [DONE]\n\n"))
            let deltas = Self.deltas(events)
            #expect(deltas.first?["role"] as? String == "assistant")
            let pieces = deltas.compactMap { $0["content"] as? String }.filter { !$0.isEmpty }
            #expect(pieces.count >= 3, "several deltas: \(pieces)")
            #expect(pieces.joined() == plain.message?["content"] as? String)
            let chunks = events.compactMap(\.json)
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            let finish = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
            #expect(finish == ["stop"])
            let usage = try #require(chunks.last?["usage"] as? [String: Int])
            #expect(usage == plain.usage)
            #expect((chunks.last?["choices"] as? [Any])?.isEmpty == true, "the usage chunk has no choices")

            let withoutUsage = try await client.chat(chatBody("Stream me a short answer, please.", extra: #","stream":true"#))
            let chunksWithout = Self.events(withoutUsage.text).compactMap(\.json)
            #expect(!chunksWithout.isEmpty && chunksWithout.allSatisfy { $0["usage"] == nil }, "no usage unless include_usage")
        }
    }

    @Test("OpenAI: a tool call streams its name first and its arguments in pieces")
    func openAIToolCall() async throws {
        let tools = #"""
            ,"tools":[{"type":"function","function":{"name":"get_weather",
            "parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}}]
            """#
        try await withMock { client in
            let plain = try await client.chat(chatBody(extra: tools))
            let streamed = try await client.chat(chatBody(extra: tools + Self.include))
            let deltas = Self.deltas(Self.events(streamed.text))
            let calls = deltas.compactMap { ($0["tool_calls"] as? [[String: Any]])?.first }
            #expect(calls.count >= 3)
            #expect(calls.allSatisfy { $0["index"] as? Int == 0 })
            let first = try #require(calls.first)
            #expect((first["id"] as? String)?.hasPrefix("call_") == true)
            #expect((first["function"] as? [String: Any])?["name"] as? String == "get_weather")
            let arguments = calls.compactMap { ($0["function"] as? [String: Any])?["arguments"] as? String }.joined()
            let expected = (plain.message?["tool_calls"] as? [[String: Any]])?.first?["function"] as? [String: Any]
            #expect(arguments == expected?["arguments"] as? String)
            #expect(deltas.contains { $0["content"] is NSNull }, "content null beside a tool call, as OpenAI sends it")
            let finish = Self.events(streamed.text).compactMap { ($0.json?["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
            #expect(finish == ["tool_calls"])
        }
    }

    @Test("Anthropic: the event sequence, text deltas concatenating to the non-streamed text, usage as in the message")
    func anthropicText() async throws {
        try await withMock { client in
            let plain = try await client.messages(messagesBody("Stream me a short answer, please."))
            let streamed = try await client.messages(messagesBody("Stream me a short answer, please.", extra: #","max_tokens":1024,"stream":true"#))
            #expect(streamed.status == .ok)
            #expect(streamed.header("content-type") == "text/event-stream")
            #expect(streamed.header("request-id")?.hasPrefix("req_") == true)
            let events = Self.events(streamed.text)
            let names = events.compactMap(\.name)
            #expect(names.first == "message_start" && names.last == "message_stop")
            #expect(
                names.filter { $0 != "content_block_delta" } == [
                    "message_start", "content_block_start", "ping", "content_block_stop", "message_delta", "message_stop",
                ]
            )
            #expect(events.allSatisfy { $0.json?["type"] as? String == $0.name }, "data.type names the event")
            let pieces = events.filter { $0.name == "content_block_delta" }.compactMap { ($0.json?["delta"] as? [String: Any])?["text"] as? String }
            #expect(pieces.count >= 3)
            let text = (plain.json?["content"] as? [[String: Any]])?.first?["text"] as? String
            #expect(pieces.joined() == text)
            let start = (events.first?.json?["message"] as? [String: Any])?["usage"] as? [String: Int]
            let plainUsage = plain.json?["usage"] as? [String: Int]
            #expect(start?["input_tokens"] == plainUsage?["input_tokens"])
            let delta = events.first { $0.name == "message_delta" }?.json
            #expect((delta?["usage"] as? [String: Int])?["output_tokens"] == plainUsage?["output_tokens"])
            #expect((delta?["delta"] as? [String: Any])?["stop_reason"] as? String == plain.json?["stop_reason"] as? String)
        }
    }

    @Test("Anthropic: a tool_use block streams its input as input_json_delta pieces")
    func anthropicToolUse() async throws {
        let tools =
            #","max_tokens":512,"tools":[{"name":"lookup","input_schema":{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer"}}}}]"#
        try await withMock { client in
            let plain = try await client.messages(messagesBody(extra: tools))
            let streamed = try await client.messages(messagesBody(extra: tools + #","stream":true"#))
            let events = Self.events(streamed.text)
            let block = events.first { $0.name == "content_block_start" }?.json?["content_block"] as? [String: Any]
            #expect(block?["type"] as? String == "tool_use")
            #expect(block?["name"] as? String == "lookup")
            #expect((block?["id"] as? String)?.hasPrefix("toolu_") == true)
            let json = events.compactMap { ($0.json?["delta"] as? [String: Any])?["partial_json"] as? String }
            #expect(json.count >= 2)
            let streamedInput = try JSONSerialization.jsonObject(with: Data(json.joined().utf8)) as? NSDictionary
            let plainInput = (plain.json?["content"] as? [[String: Any]])?.first?["input"] as? NSDictionary
            #expect(streamedInput != nil && streamedInput == plainInput)
            let delta = events.first { $0.name == "message_delta" }?.json?["delta"] as? [String: Any]
            #expect(delta?["stop_reason"] as? String == "tool_use")
        }
    }

    @Test("injected failures answer as errors before any event; malformed cuts the stream short")
    func failures() async throws {
        try await withMock { client in
            try await client.setBehaviour(#"{"mode":"server_error"}"#)
            let failed = try await client.chat(chatBody(extra: Self.include))
            #expect(failed.status == .internalServerError)
            #expect(failed.openAIError != nil)
            let failedAnthropic = try await client.messages(messagesBody(extra: #","max_tokens":64,"stream":true"#))
            #expect(failedAnthropic.status == .internalServerError)

            try await client.setBehaviour(#"{"mode":"malformed"}"#)
            let cut = try await client.chat(chatBody(extra: Self.include))
            #expect(cut.status == .ok)
            #expect(!cut.text.contains("[DONE]") && cut.text.hasPrefix("data: "))
            let cutAnthropic = try await client.messages(messagesBody(extra: #","max_tokens":64,"stream":true"#))
            #expect(!cutAnthropic.text.contains("message_stop") && cutAnthropic.text.hasPrefix("event: message_start"))

            let stats = try await client.stats()
            #expect((stats["by_path"] as? [String: Int])?["/v1/chat/completions"] == 2, "streamed calls are counted like the others")
            #expect(stats["behaviour_calls"] as? Int == 2)
        }
    }

    @Test("stream_delta_ms paces the deltas; it is part of the behaviour, validated like latency_ms")
    func deltaPause() async throws {
        try await withMock { client in
            let put = try await client.setBehaviour(#"{"stream_delta_ms":40}"#)
            #expect(put.json?["stream_delta_ms"] as? Int == 40)
            let start = ContinuousClock.now
            let streamed = try await client.chat(chatBody("one two three four five", extra: #","stream":true"#))
            let elapsed = ContinuousClock.now - start
            let pieces = Self.deltas(Self.events(streamed.text)).compactMap { $0["content"] as? String }.filter { !$0.isEmpty }
            #expect(pieces.count >= 4)
            #expect(elapsed >= .milliseconds(40 * (pieces.count - 1)), "\(pieces.count) deltas in \(elapsed)")

            let refused = try await client.execute(uri: "/_mock/behaviour", method: .put, body: ByteBuffer(string: #"{"stream_delta_ms":-1}"#))
            #expect(refused.status == .badRequest)
            #expect(refused.text.contains("stream_delta_ms"))
            let reset = try await client.setBehaviour(#"{"stream_delta_ms":0}"#)
            #expect(reset.json?["stream_delta_ms"] == nil, "left out at 0, as before it existed")
        }
    }
}
