import Foundation
import NIOHTTP1
import Testing

@testable import Worker

@Suite("Upstream error classes and rate-limit headers")
struct UpstreamClassificationTests {
    private func classify(_ status: Int, _ body: String = "{}", headers: [(String, String)] = []) -> UpstreamFailure {
        HTTPExchange.classify(status: status, headers: HTTPHeaders(headers), body: Data(body.utf8), requestID: nil)
    }

    @Test("each status maps to its action")
    func statuses() {
        #expect(classify(400).kind == .invalidRequest)
        #expect(classify(404).kind == .invalidRequest)
        #expect(classify(413).kind == .invalidRequest)
        #expect(classify(422).kind == .invalidRequest)
        #expect(
            classify(400, #"{"error":{"message":"This model's maximum context length is 8192 tokens","code":"context_length_exceeded"}}"#).kind
                == .contextTooLong
        )
        #expect(classify(401).kind == .badCredentials)
        #expect(classify(403).kind == .badCredentials)
        #expect(classify(402).kind == .quotaExhausted)
        #expect(classify(429, #"{"error":{"code":"insufficient_quota"}}"#).kind == .quotaExhausted)
        #expect(
            classify(429, #"{"error":{"type":"rate_limit_error","details":{"error_code":"enforced_spend_limit_reached"}}}"#).kind == .quotaExhausted
        )
        #expect(classify(429).kind == .rateLimited)
        for status in [408, 409, 500, 502, 503, 529] { #expect(classify(status).kind == .transient, "\(status)") }
        #expect(classify(500, #"{"error":{"message":"boom"}}"#).message == "boom")
    }

    @Test("x-should-retry overrides the status")
    func shouldRetry() {
        #expect(classify(500, headers: [("x-should-retry", "false")]).kind == .invalidRequest)
        #expect(classify(400, headers: [("x-should-retry", "true")]).kind == .transient)
    }

    @Test("Retry-After in seconds, as an HTTP date, and retry-after-ms")
    func retryAfter() {
        #expect(HTTPExchange.retryAfter(HTTPHeaders([("Retry-After", "2")])) == .seconds(2))
        #expect(HTTPExchange.retryAfter(HTTPHeaders([("retry-after-ms", "1500"), ("Retry-After", "2")])) == .milliseconds(1500))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let date = formatter.string(from: Date().addingTimeInterval(30))
        let wait = HTTPExchange.retryAfter(HTTPHeaders([("Retry-After", date)]))
        #expect(wait.map { $0 > .seconds(25) && $0 <= .seconds(31) } == true, "\(date) → \(String(describing: wait))")
        #expect(HTTPExchange.retryAfter(HTTPHeaders()) == nil)
        #expect(classify(429, headers: [("Retry-After", "3")]).retryAfter == .seconds(3))
    }

    @Test("rate-limit headers that say nothing is left")
    func exhausted() {
        #expect(
            HTTPExchange.exhaustedFor(HTTPHeaders([("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "6m0s")])) == .seconds(360)
        )
        #expect(
            HTTPExchange.exhaustedFor(HTTPHeaders([("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "20ms")]))
                == .milliseconds(20)
        )
        #expect(HTTPExchange.exhaustedFor(HTTPHeaders([("x-ratelimit-remaining-requests", "12")])) == nil)
        #expect(HTTPExchange.parseResetDuration("2m3.5s") == .milliseconds(123_500))
        // Longer than the longest wait an upstream may impose: capped (the job asks again then).
        #expect(HTTPExchange.parseResetDuration("1h2m3.5s") == UpstreamNumbers.maxWait)
    }

    @Test("Anthropic stop reasons map to the job's finish reasons")
    func finishReasons() {
        #expect(AnthropicUpstream.finishReason("end_turn") == "stop")
        #expect(AnthropicUpstream.finishReason("max_tokens") == "length")
        #expect(AnthropicUpstream.finishReason("tool_use") == "tool_calls")
        #expect(AnthropicUpstream.finishReason("stop_sequence") == "stop")
    }
}

@Suite("Document chunking")
struct ChunkerTests {
    @Test("chunks stay within the limit, keep all the text, and cut at paragraphs first")
    func chunks() {
        let paragraph = String(repeating: "One sentence here. ", count: 20) + "\n\n"
        let text = String(repeating: paragraph, count: 30)
        let chunks = Chunker.split(text, maxBytes: 1000)
        #expect(chunks.joined() == text)
        #expect(chunks.allSatisfy { $0.utf8.count <= 1000 })
        #expect(chunks.allSatisfy { $0.hasSuffix("\n\n") }, "a chunk should end at a paragraph boundary when paragraphs fit")
    }

    @Test("a paragraph without sentences or spaces is still split, on character boundaries")
    func hardSplit() {
        let text = String(repeating: "é", count: 3000)
        let chunks = Chunker.split(text, maxBytes: 1000)
        #expect(chunks.joined() == text)
        #expect(chunks.allSatisfy { $0.utf8.count <= 1000 })
    }
}
