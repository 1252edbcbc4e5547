import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Shared
import Synchronization
import Testing

@testable import Worker

/// Streaming calls (issue 10): deltas reach the sink in order and make up the answer `complete`
/// would return; whatever the upstream streams — split lines, U+0000, megabyte lines, absurd
/// numbers, streams cut short or stalled, errors inside the stream — becomes a classified answer
/// that says whether the tenant already saw text.
@Suite("Upstream streaming")
struct UpstreamStreamTests {
    /// Remembers every delta, in order.
    final class RecordingSink: DeltaSink {
        private let state = Mutex<[String]>([])
        var deltas: [String] { state.withLock { $0 } }
        func delta(_ text: String) async { state.withLock { $0.append(text) } }
        func reset() async { state.withLock { $0.removeAll() } }
    }

    static let sse: [(String, String)] = [("content-type", "text/event-stream"), ("x-request-id", "req_1"), ("request-id", "req_1")]

    /// A streaming call over canned bytes, each string one buffer; `stall` keeps the body open
    /// after them, as an upstream that stops sending without closing.
    static func run<Assembler: StreamAssembler>(
        _ assembler: Assembler.Type,
        _ buffers: [String],
        status: Int = 200,
        headers: [(String, String)] = sse,
        stall: Bool = false,
        timeout: Duration = .seconds(5),
        maxTokens: Int = 1000,
        sink: RecordingSink
    ) async -> Result<UpstreamResponse, UpstreamFailure> {
        let anthropic = Assembler.self == AnthropicStreamAssembler.self
        let plain: @Sendable (Int, HTTPHeaders, Data) throws(UpstreamFailure) -> UpstreamResponse = {
            (status, headers, payload) throws(UpstreamFailure) in
            if anthropic { return try AnthropicUpstream.reply(status: status, headers: headers, payload: payload) }
            return try OpenAIUpstream.reply(status: status, headers: headers, payload: payload)
        }
        do {
            return .success(
                try await StreamExchange.run(
                    timeout: timeout,
                    maxTokens: maxTokens,
                    requestIDHeaders: ["x-request-id"],
                    assembler: assembler,
                    sink: sink,
                    plainReply: plain
                ) { () async throws(UpstreamFailure) -> StreamExchange.Answer<AsyncStream<ByteBuffer>> in
                    let body = AsyncStream<ByteBuffer> { continuation in
                        for buffer in buffers { continuation.yield(ByteBuffer(string: buffer)) }
                        if !stall { continuation.finish() }
                    }
                    return StreamExchange.Answer(status: status, headers: HTTPHeaders(headers), body: body)
                }
            )
        } catch {
            return .failure(error)
        }
    }

    static func chunk(_ delta: String, finish: String? = nil) -> String {
        #"data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{\#(delta)},"finish_reason":\#(finish.map { "\"\($0)\"" } ?? "null")}]}"#
            + "\n\n"
    }

    static let usageChunk = #"data: {"id":"c","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"# + "\n\n"
    static let done = "data: [DONE]\n\n"

    // MARK: the parser

    @Test("SSE lines split anywhere across buffers, any line end, comments and multi-line data read the same")
    func parser() throws {
        let stream = ": keep-alive\r\nevent: a\r\ndata: one\r\ndata:two\r\n\r\nid: 7\ndata: {\"x\":1}\n\nretry: 5\rdata: three\r\r"
        let expected = [
            SSEEvent(name: "a", data: Array("one\ntwo".utf8)), SSEEvent(data: Array(#"{"x":1}"#.utf8)), SSEEvent(data: Array("three".utf8)),
        ]
        let bytes = Array(stream.utf8)
        for split in 0...bytes.count {
            var parser = SSEParser(maxLineBytes: 1 << 20, maxTotalBytes: 1 << 20)
            var events = try parser.feed(ByteBuffer(bytes: bytes[..<split]))
            events += try parser.feed(ByteBuffer(bytes: bytes[split...]))
            events += try parser.finish()
            #expect(events == expected, "split at \(split)")
        }
        var byByte = SSEParser(maxLineBytes: 1 << 20, maxTotalBytes: 1 << 20)
        var events: [SSEEvent] = []
        for byte in bytes { events += try byByte.feed(ByteBuffer(bytes: [byte])) }
        #expect(events == expected)
        var unterminated = SSEParser(maxLineBytes: 1 << 20, maxTotalBytes: 1 << 20)
        #expect(try unterminated.feed(ByteBuffer(string: "data: [DONE]")).isEmpty)
        #expect(try unterminated.finish() == [SSEEvent(data: Array("[DONE]".utf8))], "a last event without its blank line")

        var small = SSEParser(maxLineBytes: 8, maxTotalBytes: 20)
        #expect(throws: SSEParser.Overflow.line) { _ = try small.feed(ByteBuffer(string: "data: 123456789")) }
        var total = SSEParser(maxLineBytes: 8, maxTotalBytes: 20)
        #expect(throws: SSEParser.Overflow.total) { for _ in 0..<10 { _ = try total.feed(ByteBuffer(string: "data: 1\n\n")) } }
    }

    // MARK: OpenAI

    @Test("OpenAI: deltas reach the sink in order; the answer equals complete's for the same text, tool calls assembled by index")
    func openAI() async throws {
        let sink = RecordingSink()
        let text = await Self.run(
            OpenAIStreamAssembler.self,
            [
                Self.chunk(#""role":"assistant","content":"""#), Self.chunk(#""content":"Hello ""#) + Self.chunk(#""content":"wor""#),
                String(Self.chunk(#""content":"ld!""#).prefix(30)), String(Self.chunk(#""content":"ld!""#).dropFirst(30)),
                Self.chunk("", finish: "stop"), Self.usageChunk, Self.done,
            ],
            sink: sink
        )
        let response = try text.get()
        #expect(sink.deltas == ["Hello ", "wor", "ld!"])
        let plain = try OpenAIUpstream.reply(
            status: 200,
            headers: HTTPHeaders(Self.sse),
            payload: Data(
                #"{"choices":[{"message":{"content":"Hello world!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5}}"#
                    .utf8
            )
        )
        #expect(response.content == plain.content && response.finishReason == plain.finishReason && response.usage == plain.usage)
        #expect(response.requestID == "req_1" && response.statusCode == 200)

        let toolSink = RecordingSink()
        let tools = try await Self.run(
            OpenAIStreamAssembler.self,
            [
                Self.chunk(
                    #""role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]"#
                ),
                Self.chunk(#""tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]"#),
                Self.chunk(#""tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]"#),
                Self.chunk(#""tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]"#),
                Self.chunk("", finish: "tool_calls"), Self.usageChunk, Self.done,
            ],
            sink: toolSink
        ).get()
        #expect(toolSink.deltas.isEmpty)
        let expected = try OpenAIUpstream.reply(
            status: 200,
            headers: HTTPHeaders(),
            payload: Data(
                #"{"choices":[{"message":{"content":null,"tool_calls":[{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":12,"completion_tokens":5}}"#
                    .utf8
            )
        )
        #expect(tools.toolCalls == expected.toolCalls)
        #expect(tools.content == nil && tools.finishReason == "tool_calls")
    }

    // MARK: Anthropic

    static func event(_ type: String, _ fields: String = "") -> String {
        "event: \(type)\ndata: {\"type\":\"\(type)\"\(fields)}\n\n"
    }

    static let anthropicStart = event(
        "message_start",
        #","message":{"id":"msg_1","usage":{"input_tokens":10,"cache_creation_input_tokens":2,"cache_read_input_tokens":3,"output_tokens":1}}"#
    )

    @Test("Anthropic: text and tool_use blocks, ping skipped; the answer equals complete's for the same message")
    func anthropic() async throws {
        let sink = RecordingSink()
        let response = try await Self.run(
            AnthropicStreamAssembler.self,
            [
                Self.anthropicStart,
                Self.event("content_block_start", #","index":0,"content_block":{"type":"text","text":""}"#),
                Self.event("ping"),
                Self.event("content_block_delta", #","index":0,"delta":{"type":"text_delta","text":"Let me "}"#),
                Self.event("content_block_delta", #","index":0,"delta":{"type":"text_delta","text":"look."}"#),
                Self.event("content_block_stop", #","index":0"#),
                Self.event("content_block_start", #","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"lookup","input":{}}"#),
                Self.event("content_block_delta", #","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"query\": \"we"}"#),
                Self.event("content_block_delta", #","index":1,"delta":{"type":"input_json_delta","partial_json":"ather\"}"}"#),
                Self.event("content_block_stop", #","index":1"#),
                Self.event("content_block_start", #","index":2,"content_block":{"type":"tool_use","id":"toolu_2","name":"now","input":{}}"#),
                Self.event("content_block_stop", #","index":2"#),
                Self.event("message_delta", #","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":42}"#),
                Self.event("message_stop"),
            ],
            sink: sink
        ).get()
        #expect(sink.deltas == ["Let me ", "look."])
        let plain = try AnthropicUpstream.reply(
            status: 200,
            headers: HTTPHeaders(),
            payload: Data(
                #"{"content":[{"type":"text","text":"Let me look."},{"type":"tool_use","id":"toolu_1","name":"lookup","input":{"query":"weather"}},{"type":"tool_use","id":"toolu_2","name":"now","input":{}}],"stop_reason":"tool_use","usage":{"input_tokens":10,"cache_creation_input_tokens":2,"cache_read_input_tokens":3,"output_tokens":42}}"#
                    .utf8
            )
        )
        #expect(response.content == plain.content && response.finishReason == plain.finishReason && response.usage == plain.usage)
        #expect(response.toolCalls == plain.toolCalls)
        #expect(response.usage == TokenUsage(promptTokens: 15, completionTokens: 42))
    }

    @Test("Anthropic: an error event is the failure it names, after output or before")
    func anthropicErrorEvent() async throws {
        let overloaded = Self.event("error", #","error":{"type":"overloaded_error","message":"Overloaded"}"#)
        let sink = RecordingSink()
        let after = await Self.run(
            AnthropicStreamAssembler.self,
            [
                Self.anthropicStart, Self.event("content_block_start", #","index":0,"content_block":{"type":"text","text":""}"#),
                Self.event("content_block_delta", #","index":0,"delta":{"type":"text_delta","text":"Hi"}"#), overloaded,
            ],
            sink: sink
        )
        guard case .failure(let failure) = after else {
            Issue.record("succeeded")
            return
        }
        #expect(failure.kind == .transient && failure.statusCode == 529 && failure.afterOutput && failure.message == "Overloaded")
        #expect(sink.deltas == ["Hi"])
        let limited = await Self.run(
            AnthropicStreamAssembler.self,
            [Self.event("error", #","error":{"type":"rate_limit_error","message":"slow down"}"#)],
            sink: RecordingSink()
        )
        guard case .failure(let rate) = limited else {
            Issue.record("succeeded")
            return
        }
        #expect(rate.kind == .rateLimited && !rate.afterOutput)
    }

    // MARK: hostile streams

    @Test("U+0000 and lone surrogates in a delta are cleaned before the sink sees them")
    func cleaned() async throws {
        let sink = RecordingSink()
        let response = try await Self.run(
            OpenAIStreamAssembler.self,
            [Self.chunk(#""content":"a\u0000b""#), Self.chunk(#""content":"\ud800!""#), Self.chunk("", finish: "stop"), Self.done],
            sink: sink
        ).get()
        #expect(sink.deltas == ["a\u{FFFD}b", "\u{FFFD}!"])
        #expect(response.content == "a\u{FFFD}b\u{FFFD}!")
        let anthropicSink = RecordingSink()
        _ = try await Self.run(
            AnthropicStreamAssembler.self,
            [
                Self.anthropicStart, Self.event("content_block_delta", #","index":0,"delta":{"type":"text_delta","text":"x\u0000"}"#),
                Self.event("message_stop"),
            ],
            sink: anthropicSink
        ).get()
        #expect(anthropicSink.deltas == ["x\u{FFFD}"])
    }

    @Test("a 2 MiB line is refused as transient; output before it is reported")
    func hugeLine() async throws {
        let huge = "data: {\"choices\":[{\"delta\":{\"content\":\"" + String(repeating: "a", count: 2 << 20) + "\"}}]}\n\n"
        let sink = RecordingSink()
        let result = await Self.run(OpenAIStreamAssembler.self, [Self.chunk(#""content":"Hi""#), huge, Self.done], maxTokens: 1 << 20, sink: sink)
        guard case .failure(let failure) = result else {
            Issue.record("succeeded")
            return
        }
        #expect(failure.kind == .transient && failure.afterOutput && failure.message.contains("line longer"))
        #expect(sink.deltas == ["Hi"])
    }

    @Test("a stream cut short is transient: afterOutput once a delta was sent, not before")
    func truncated() async throws {
        let sink = RecordingSink()
        let cut = await Self.run(OpenAIStreamAssembler.self, [Self.chunk(#""content":"Hello ""#), Self.chunk(#""content":"wor""#)], sink: sink)
        guard case .failure(let failure) = cut else {
            Issue.record("succeeded")
            return
        }
        #expect(failure.kind == .transient && failure.afterOutput && failure.statusCode == 200 && failure.requestID == "req_1")
        #expect(sink.deltas == ["Hello ", "wor"])

        let early = await Self.run(AnthropicStreamAssembler.self, [Self.anthropicStart], sink: RecordingSink())
        guard case .failure(let before) = early else {
            Issue.record("succeeded")
            return
        }
        #expect(before.kind == .transient && !before.afterOutput)

        let malformed = await Self.run(OpenAIStreamAssembler.self, [Self.chunk(#""content":"ok""#), "data: {not json\n\n"], sink: RecordingSink())
        guard case .failure(let broken) = malformed else {
            Issue.record("succeeded")
            return
        }
        #expect(broken.kind == .transient && broken.afterOutput && broken.message == "malformed stream chunk")
        #expect(broken.ownMessage == nil)
    }

    @Test("a stream that stalls is ended by the endpoint's timeout, the whole call counted")
    func stalled() async throws {
        let sink = RecordingSink()
        let start = ContinuousClock.now
        let result = await Self.run(
            OpenAIStreamAssembler.self,
            [Self.chunk(#""content":"Hi""#)],
            stall: true,
            timeout: .milliseconds(300),
            sink: sink
        )
        #expect(ContinuousClock.now - start < .seconds(30), "a stalled body never ends by itself: only the deadline ends it")
        guard case .failure(let failure) = result else {
            Issue.record("succeeded")
            return
        }
        #expect(failure.kind == .transient && failure.message == "timed out" && failure.afterOutput)
    }

    @Test("an error status is classified as complete classifies it, before any delta")
    func errorStatus() async throws {
        let body = #"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#
        let headers = [("content-type", "application/json"), ("retry-after", "7"), ("x-request-id", "req_9")]
        for status in [429, 400, 401, 500, 302] {
            let sink = RecordingSink()
            let result = await Self.run(OpenAIStreamAssembler.self, [body], status: status, headers: headers, sink: sink)
            guard case .failure(let failure) = result else {
                Issue.record("\(status) succeeded")
                continue
            }
            let expected: UpstreamFailure
            do {
                _ = try OpenAIUpstream.reply(status: status, headers: HTTPHeaders(headers), payload: Data(body.utf8))
                Issue.record("reply accepted \(status)")
                continue
            } catch { expected = error }
            #expect(failure.kind == expected.kind && failure.statusCode == expected.statusCode && failure.message == expected.message, "\(status)")
            #expect(failure.retryAfter == expected.retryAfter && failure.requestID == "req_9" && !failure.afterOutput, "\(status)")
            #expect(sink.deltas.isEmpty)
        }
        // An upstream that ignores `stream: true` and answers JSON: the answer, as one delta.
        let sink = RecordingSink()
        let plain = try await Self.run(
            OpenAIStreamAssembler.self,
            [#"{"choices":[{"message":{"content":"whole"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#],
            headers: [("content-type", "application/json")],
            sink: sink
        ).get()
        #expect(plain.content == "whole" && sink.deltas == ["whole"])
    }

    @Test("absurd usage in a stream is clamped as complete clamps it")
    func absurdUsage() async throws {
        let max = UpstreamNumbers.maxTokensPerCall
        let openAI = try await Self.run(
            OpenAIStreamAssembler.self,
            [
                Self.chunk(#""content":"x""#, finish: "stop"),
                #"data: {"choices":[],"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":1e300}}"# + "\n\n", Self.done,
            ],
            sink: RecordingSink()
        ).get()
        #expect(openAI.usage == TokenUsage(promptTokens: max, completionTokens: max))
        let anthropic = try await Self.run(
            AnthropicStreamAssembler.self,
            [
                Self.event("message_start", #","message":{"usage":{"input_tokens":1e30,"cache_read_input_tokens":-4,"output_tokens":"9"}}"#),
                Self.event("message_delta", #","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9223372036854775807}"#),
                Self.event("message_stop"),
            ],
            sink: RecordingSink()
        ).get()
        #expect(anthropic.usage == TokenUsage(promptTokens: max, completionTokens: max))
    }

    @Test("an answer far past max_tokens is cut off as transient")
    func overlong() async throws {
        let piece = Self.chunk(#""content":""# + String(repeating: "a", count: 60_000) + #"""#)
        let result = await Self.run(OpenAIStreamAssembler.self, [piece, piece, Self.done], maxTokens: 10, sink: RecordingSink())
        guard case .failure(let failure) = result else {
            Issue.record("succeeded")
            return
        }
        #expect(failure.kind == .transient && failure.afterOutput)
    }

    @Test("an upstream without streaming still streams: the default sends the whole content once")
    func defaultStream() async throws {
        struct Plain: Upstream {
            func complete(_ request: UpstreamRequest, at endpoint: UpstreamEndpoint) async throws(UpstreamFailure) -> UpstreamResponse {
                UpstreamResponse(content: "all at once", finishReason: "stop", toolCalls: nil, usage: .zero, requestID: nil, statusCode: 200)
            }
        }
        let sink = RecordingSink()
        let request = UpstreamRequest(model: "m", messages: [], maxTokens: 10)
        let endpoint = UpstreamEndpoint(provider: "p", kind: .openai, baseURL: "http://127.0.0.1:1", apiKey: "k", timeout: .seconds(1))
        let response = try await Plain().stream(request, at: endpoint, into: sink)
        #expect(response.content == "all at once" && sink.deltas == ["all at once"])
    }

    // MARK: against saas-mock-llm

    /// The mock as a process beside the test binary, on a free port; ended when `body` returns.
    static func withMockProcess(_ body: (String, HTTPClient) async throws -> Void) async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("saas-mock-llm")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "saas-mock-llm is built beside the tests")
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = Int.random(in: 20_000..<60_000)
            let process = Process()
            process.executableURL = binary
            process.arguments = ["--host", "127.0.0.1", "--port", String(port)]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer {
                process.terminate()
                process.waitUntilExit()
            }
            let base = "http://127.0.0.1:\(port)"
            var up = false
            for _ in 0..<100 where process.isRunning && !up {
                up = (try? await client.execute(HTTPClientRequest(url: base + "/health"), timeout: .seconds(1)).status) == .ok
                if !up { try await Task.sleep(for: .milliseconds(50)) }
            }
            guard up else { continue }
            do { try await body(base, client) } catch { lastError = error }
            try await client.shutdown()
            if let lastError { throw lastError }
            return
        }
        try await client.shutdown()
        Issue.record("saas-mock-llm did not start")
    }

    @Test("against saas-mock-llm, both dialects: the streamed answer equals complete's, text and tool calls")
    func againstMock() async throws {
        try await Self.withMockProcess { base, client in
            let tools: JSONValue = .array([
                .object([
                    "type": .string("function"),
                    "function": .object([
                        "name": .string("lookup"),
                        "parameters": .object([
                            "type": .string("object"),
                            "properties": .object(["query": .object(["type": .string("string")]), "limit": .object(["type": .string("integer")])]),
                        ]),
                    ]),
                ])
            ])
            let upstreams: [(ProviderKind, any Upstream)] = [
                (.openai, OpenAIUpstream(client: client)), (.anthropic, AnthropicUpstream(client: client)),
            ]
            for (kind, upstream) in upstreams {
                let endpoint = UpstreamEndpoint(provider: "mock", kind: kind, baseURL: base, apiKey: "sk-test", timeout: .seconds(10))
                var request = UpstreamRequest(
                    model: "mock-model",
                    messages: [
                        .object(["role": .string("system"), "content": .string("Be brief.")]),
                        .object(["role": .string("user"), "content": .string("Tell me how streams work, in a few words.")]),
                    ],
                    maxTokens: 200
                )
                let plain = try await upstream.complete(request, at: endpoint)
                let sink = RecordingSink()
                let streamed = try await upstream.stream(request, at: endpoint, into: sink)
                #expect(sink.deltas.count >= 3, "\(kind)")
                #expect(sink.deltas.joined() == streamed.content, "\(kind)")
                #expect(streamed.content == plain.content && streamed.content?.hasPrefix("mock analysis") == true, "\(kind)")
                #expect(streamed.finishReason == plain.finishReason && streamed.usage == plain.usage, "\(kind)")
                #expect(streamed.usage.promptTokens > 0 && streamed.usage.completionTokens > 0, "\(kind)")
                #expect(streamed.requestID != nil && streamed.statusCode == 200, "\(kind)")

                request.tools = tools
                let plainTool = try await upstream.complete(request, at: endpoint)
                let toolSink = RecordingSink()
                let streamedTool = try await upstream.stream(request, at: endpoint, into: toolSink)
                #expect(toolSink.deltas.isEmpty && streamedTool.content == plainTool.content, "\(kind)")
                #expect(streamedTool.finishReason == "tool_calls" && streamedTool.usage == plainTool.usage, "\(kind)")
                func function(_ response: UpstreamResponse) -> (String?, JSONValue?) {
                    guard case .array(let calls)? = response.toolCalls, let call = calls.first?.objectValue,
                        let function = call["function"]?.objectValue
                    else { return (nil, nil) }
                    let arguments = function["arguments"]?.stringValue.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
                    return (function["name"]?.stringValue, arguments)
                }
                #expect(function(streamedTool).0 == "lookup" && function(streamedTool).0 == function(plainTool).0, "\(kind)")
                #expect(function(streamedTool).1 != nil && function(streamedTool).1 == function(plainTool).1, "\(kind)")
            }
        }
    }
}
