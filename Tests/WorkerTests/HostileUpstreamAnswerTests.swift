import Foundation
import NIOHTTP1
import Shared
import Testing

@testable import Worker

/// Whatever an upstream sends — any status, header, number or byte — becomes a classified answer:
/// nothing traps, no wait is unbounded, no text reaches PostgreSQL that it cannot store, no key
/// reaches a message (issue 8, items 2, 3, 6 and 13).
@Suite("Hostile upstream answers")
struct HostileUpstreamAnswerTests {
    private func headers(_ pairs: [(String, String)]) -> HTTPHeaders { HTTPHeaders(pairs) }

    // MARK: U+0000 and lone surrogates (item 2)

    @Test("\\u0000 and unpaired surrogates are cleaned before decoding; everything else is kept")
    func cleanedBodies() throws {
        func decoded(_ json: String) throws -> String {
            let data = UpstreamBody.cleaned(Data(json.utf8))
            return try JSONDecoder().decode([String].self, from: data)[0]
        }
        #expect(try decoded(#"["a\u0000b"]"#) == "a\u{FFFD}b")
        #expect(try decoded(#"["x\ud800y"]"#) == "x\u{FFFD}y")
        #expect(try decoded(#"["\udc00"]"#) == "\u{FFFD}")
        #expect(try decoded(#"["\ud800\u0041"]"#) == "\u{FFFD}A")
        #expect(try decoded(#"["end\ud800"]"#) == "end\u{FFFD}")
        #expect(try decoded(#"["\ud83d\ude00"]"#) == "😀", "a well-formed pair is kept")
        #expect(try decoded(#"["\\u0000"]"#) == "\\u0000", "an escaped backslash is text, not an escape")
        #expect(try decoded(#"["\"\u0000\""]"#) == "\"\u{FFFD}\"")
        let plain = Data(#"{"a": "no escapes here"}"#.utf8)
        #expect(UpstreamBody.cleaned(plain) == plain)
        // Truncated escapes at the end of a body are left for the decoder to refuse.
        _ = UpstreamBody.cleaned(Data(#"["\u00"#.utf8))
        _ = UpstreamBody.cleaned(Data(#"["\"#.utf8))
    }

    @Test("an answer whose content holds U+0000 decodes to text PostgreSQL can store")
    func nulInContent() throws {
        let body = #"{"choices":[{"message":{"content":"a\u0000b\ud800"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#
        let reply = try OpenAIUpstream.reply(status: 200, headers: headers([]), payload: Data(body.utf8))
        #expect(reply.content == "a\u{FFFD}b\u{FFFD}")
        let anthropic = #"{"content":[{"type":"text","text":"x\u0000"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#
        #expect(try AnthropicUpstream.reply(status: 200, headers: headers([]), payload: Data(anthropic.utf8)).content == "x\u{FFFD}")
        #expect("a\u{0}b".storable == "a\u{FFFD}b")
        #expect(
            JSONValue.object(["k\u{0}": .array([.string("\u{0}"), .number(.infinity)])]).storable
                == .object(["k\u{FFFD}": .array([.string("\u{FFFD}"), .null])])
        )
    }

    // MARK: numbers (item 3)

    @Test("token counts are read with bounds: huge, negative, fractional, strings, overflowing sums")
    func tokenCounts() throws {
        func usage(_ fields: String) throws -> TokenUsage {
            let body = #"{"choices":[{"message":{"content":"ok"},"finish_reason":"stop"}],"usage":{\#(fields)}}"#
            return try OpenAIUpstream.reply(status: 200, headers: headers([]), payload: Data(body.utf8)).usage
        }
        let max = UpstreamNumbers.maxTokensPerCall
        let huge = try usage(#""prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775807"#)
        #expect(huge.promptTokens == max && huge.completionTokens == max && huge.totalTokens == 2 * max)
        #expect(try usage(#""prompt_tokens":9e18,"completion_tokens":1e30"#).totalTokens == 2 * max)
        #expect(try usage(#""prompt_tokens":-5,"completion_tokens":"12""#) == TokenUsage(promptTokens: 0, completionTokens: 12))
        #expect(try usage(#""prompt_tokens":"lots","completion_tokens":[1]"#) == .zero)
        #expect(try usage(#""prompt_tokens":2.9,"completion_tokens":null"#) == TokenUsage(promptTokens: 2, completionTokens: 0))
        let anthropic =
            #"{"content":[{"type":"text","text":"x"}],"usage":{"input_tokens":9223372036854775807,"cache_read_input_tokens":9223372036854775807,"cache_creation_input_tokens":1e300,"output_tokens":-1}}"#
        let reply = try AnthropicUpstream.reply(status: 200, headers: headers([]), payload: Data(anthropic.utf8))
        #expect(reply.usage == TokenUsage(promptTokens: 3 * max, completionTokens: 0))
        // The charge of the largest usage and a huge price stays an Int.
        let charge = Billing.charge(
            tokens: reply.usage.totalTokens,
            costUSD: Decimal(string: "1e30")!,
            BillingSettings(budgetMode: .consumptionUSD, tokensPerCredit: 1, creditsPerDollar: 1000)
        )
        #expect(charge == Billing.maxCredits, "bounded, never a wrapped or trapped conversion")
    }

    @Test("Retry-After and reset headers in every form are bounded to 10 minutes, never a trap")
    func absurdWaits() {
        let cap = UpstreamNumbers.maxWait
        for value in ["1e308", "inf", "99999999999999999999", "1e20"] {
            let wait = HTTPExchange.retryAfter(headers([("Retry-After", value)]))
            #expect(wait == cap, "Retry-After: \(value.prefix(20))")
        }
        for value in ["NaN", "-1", "-1e308", "soon", "", "Fri, 31 Dec 99999 23:59:59 GMT", String(repeating: "9", count: 400)] {
            let wait = HTTPExchange.retryAfter(headers([("Retry-After", value)]))
            #expect(wait == nil || wait! <= cap, "Retry-After: \(value)")
        }
        #expect(HTTPExchange.retryAfter(headers([("retry-after-ms", "1e308")])) == cap)
        #expect(HTTPExchange.retryAfter(headers([("retry-after-ms", "NaN"), ("Retry-After", "2")])) == .seconds(2))
        #expect(HTTPExchange.retryAfter(headers([("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")])) == cap)
        #expect(HTTPExchange.retryAfter(headers([("Retry-After", "Mon, 01 Jan 1990 00:00:00 GMT")])) == .zero)
        #expect(HTTPExchange.parseResetDuration("99999999h") == cap)
        #expect(HTTPExchange.parseResetDuration("1e308s").map { $0 <= cap } ?? true)
        #expect(HTTPExchange.parseResetDuration(String(repeating: "9", count: 400) + "s") == nil)
        #expect(HTTPExchange.parseResetDuration("20ms") == .milliseconds(20))
        #expect(HTTPExchange.exhaustedFor(headers([("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "99999999h")])) == cap)
        #expect(
            HTTPExchange.exhaustedFor(
                headers([
                    ("anthropic-ratelimit-requests-remaining", "0"),
                    ("anthropic-ratelimit-requests-reset", "9999-12-31T23:59:59Z"),
                ])
            ) == cap
        )
        #expect(
            HTTPExchange.exhaustedFor(
                headers([
                    ("anthropic-ratelimit-requests-remaining", "0"),
                    ("anthropic-ratelimit-requests-reset", "garbage"),
                ])
            ) == .seconds(1)
        )
        let failure = HTTPExchange.classify(status: 429, headers: headers([("Retry-After", "1e308")]), body: Data(), requestID: nil)
        #expect(failure.kind == .rateLimited && failure.retryAfter == cap)
    }

    // MARK: keys in messages (items 4 and 6)

    @Test("an upstream's error text never carries a key; tenants read the category only")
    func keysRedacted() {
        let body =
            #"{"error":{"message":"Incorrect API key provided: sk-proj-abc123********************xyz9. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}"#
        let failure = HTTPExchange.classify(status: 401, headers: headers([]), body: Data(body.utf8), requestID: "req_42")
        #expect(failure.kind == .badCredentials)
        #expect(!failure.message.contains("sk-proj"))
        #expect(!failure.message.contains("abc123"))
        #expect(failure.message.contains("Incorrect API key provided"), "admins still read what happened")
        #expect(failure.tenantMessage == "The upstream provider refused the credentials (bad_credentials, HTTP 401, request id req_42)")
        #expect(!failure.tenantMessage.contains("Incorrect"))
    }

    @Test("the redactor takes out key-shaped words and named secrets, and keeps prose")
    func redactor() {
        #expect(SecretRedactor.redact("key sk-ant-api03-AbCdEf012345 refused") == "key [redacted] refused")
        #expect(SecretRedactor.redact("Authorization: Bearer abc.def.ghi") == "Authorization: Bearer [redacted]")
        #expect(SecretRedactor.redact("token 0123456789abcdef0123456789abcdef here") == "token [redacted] here")
        #expect(SecretRedactor.redact("the literal hunter2hunter2 leaked", secrets: ["hunter2hunter2"]) == "the literal [redacted] leaked")
        let prose = "The model is overloaded, please retry later (see https://status.example.com/incidents)."
        #expect(SecretRedactor.redact(prose) == prose)
    }

    @Test("a transport error's message holds its type, never its description (which can quote a header)")
    func transportErrors() {
        struct HeaderError: Error, CustomStringConvertible {
            var description: String { "invalid header value 'Bearer sk-secret\n'" }
        }
        let name = HTTPExchange.describe(HeaderError())
        #expect(!name.contains("sk-secret"))
    }

    // MARK: redirects (item 13)

    @Test("a 3xx is an upstream error, never followed")
    func redirects() {
        for status in [301, 302, 303, 307, 308] {
            let failure = HTTPExchange.classify(
                status: status,
                headers: headers([("Location", "http://elsewhere.example/")]),
                body: Data(),
                requestID: nil
            )
            #expect(failure.kind == .transient, "\(status)")
            #expect(failure.message.contains("redirect"))
        }
    }
}

extension HostileUpstreamAnswerTests {
    @Test("tool_calls of the wrong shape are a malformed answer, not a result (found by the hostile mock)")
    func toolCallShape() throws {
        func reply(_ toolCalls: String) throws(UpstreamFailure) -> UpstreamResponse {
            let body = #"{"choices":[{"message":{"content":null,"tool_calls":\#(toolCalls)},"finish_reason":"tool_calls"}]}"#
            return try OpenAIUpstream.reply(status: 200, headers: HTTPHeaders(), payload: Data(body.utf8))
        }
        for bad in [#"{"id":"x"}"#, #""call""#, "[1, 2]", #"[{"id":"a"}, "b"]"#] {
            #expect(throws: UpstreamFailure.self, "\(bad)") { try reply(bad) }
        }
        #expect(try reply(#"[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]"#).toolCalls != nil)
        #expect(try reply("null").toolCalls == nil)
    }

    @Test("an answer far longer than max_tokens allows is refused; a long but plausible one is kept")
    func contentBound() {
        #expect(UpstreamNumbers.maxContentBytes(maxTokens: 64) == 65_536)
        #expect(UpstreamNumbers.maxContentBytes(maxTokens: 100_000) == 3_200_000)
        func answer(_ bytes: Int) -> Result<UpstreamResponse, UpstreamFailure> {
            .success(
                UpstreamResponse(
                    content: String(repeating: "x", count: bytes),
                    finishReason: "stop",
                    toolCalls: nil,
                    usage: .zero,
                    requestID: "req_1",
                    statusCode: 200,
                    exhaustedFor: nil
                )
            )
        }
        guard case .failure(let failure) = UpstreamNumbers.refusingOverlong(answer(10 << 20), maxTokens: 64) else {
            Issue.record("a 10 MB answer to a 64-token request was kept")
            return
        }
        #expect(failure.kind == .transient && failure.requestID == "req_1")
        guard case .success = UpstreamNumbers.refusingOverlong(answer(60_000), maxTokens: 64) else {
            Issue.record("a long but plausible answer was refused")
            return
        }
    }
}
