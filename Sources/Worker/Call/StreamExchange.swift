import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Shared
import Synchronization

/// What a provider's event format adds to a streaming call: how its events become text deltas,
/// tool calls, a finish reason and a usage. ``StreamExchange`` does the rest, the same for all.
protocol StreamAssembler: Sendable {
    init()
    /// Reads one event; returns the text it adds to the answer (empty for none). A malformed
    /// event, or an error the upstream sends inside the stream, is thrown as the failure it is.
    mutating func take(_ event: SSEEvent) throws(UpstreamFailure) -> String
    /// The event that ends the stream was read (`[DONE]`, `message_stop`).
    var isFinished: Bool { get }
    /// The answer, once finished, in the shape `complete` returns.
    func response(status: Int, requestID: String?, exhaustedFor: Duration?) -> UpstreamResponse
}

/// A streaming call over HTTP: the request, the answer's head, its event stream read with bounds,
/// each delta handed to the sink, and every way it can fail classified — with
/// ``UpstreamFailure/afterOutput`` saying whether the tenant had already seen text.
///
/// The upstream is not trusted (SYSTEM.md, guarantee 11): a line is at most ``maxLineBytes``, the
/// stream at most what a non-streaming answer may be (``HTTPExchange/maxResponseBytes``), the
/// text at most what `max_tokens` allows (``UpstreamNumbers/maxContentBytes(maxTokens:)``), and
/// the whole call — head and body — at most the endpoint's timeout, however slowly the bytes come.
enum StreamExchange {
    /// The longest line (and the largest event) read; one chunk of a real stream is a few hundred
    /// bytes.
    static let maxLineBytes = 1 << 20

    /// The answer's head and its body, as the HTTP client (or a test) gives them.
    struct Answer<Body: AsyncSequence & Sendable>: Sendable where Body.Element == ByteBuffer {
        var status: Int
        var headers: HTTPHeaders
        var body: Body
    }

    /// Makes the call. `plainReply` is the provider's non-streaming `reply`: an error status is
    /// classified by it exactly as `complete` would classify it (before any delta), and so is a
    /// 2xx JSON answer from an upstream that ignored `stream: true` (then handed over as one delta).
    static func run<Assembler: StreamAssembler>(
        _ request: HTTPClientRequest,
        client: HTTPClient,
        timeout: Duration,
        maxTokens: Int,
        requestIDHeaders: [String],
        assembler: Assembler.Type,
        sink: any DeltaSink,
        plainReply: @escaping @Sendable (Int, HTTPHeaders, Data) throws(UpstreamFailure) -> UpstreamResponse
    ) async throws(UpstreamFailure) -> UpstreamResponse {
        try await run(
            timeout: timeout,
            maxTokens: maxTokens,
            requestIDHeaders: requestIDHeaders,
            assembler: assembler,
            sink: sink,
            plainReply: plainReply
        ) { () async throws(UpstreamFailure) -> Answer<HTTPClientResponse.Body> in
            do {
                let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout.milliseconds)))
                return Answer(status: Int(response.status.code), headers: response.headers, body: response.body)
            } catch {
                throw HTTPExchange.transportFailure(error)
            }
        }
    }

    /// The call over whatever `open` answers with: the HTTP client, or a test's canned bytes.
    static func run<Assembler: StreamAssembler, Body>(
        timeout: Duration,
        maxTokens: Int,
        requestIDHeaders: [String],
        assembler: Assembler.Type,
        sink: any DeltaSink,
        plainReply: @escaping @Sendable (Int, HTTPHeaders, Data) throws(UpstreamFailure) -> UpstreamResponse,
        open: @escaping @Sendable () async throws(UpstreamFailure) -> Answer<Body>
    ) async throws(UpstreamFailure) -> UpstreamResponse {
        let output = OutputSeen()
        let result = await withTaskGroup(of: Result<UpstreamResponse, UpstreamFailure>?.self) { group in
            group.addTask {
                do throws(UpstreamFailure) {
                    return .success(
                        try await exchange(
                            open,
                            maxTokens: maxTokens,
                            requestIDHeaders: requestIDHeaders,
                            assembler: assembler,
                            sink: sink,
                            output: output,
                            plainReply: plainReply
                        )
                    )
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                // The head's deadline is the HTTP client's; this one also bounds the body.
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .failure(.timedOut)
            }
            var first: Result<UpstreamResponse, UpstreamFailure>?
            while let next = await group.next() {
                if let next {
                    first = next
                    break
                }
            }
            group.cancelAll()
            return first ?? .failure(UpstreamFailure(kind: .transient, statusCode: nil, message: "cancelled"))
        }
        switch result {
        case .success(let response):
            return response
        case .failure(var failure):
            failure.afterOutput = output.seen
            throw failure
        }
    }

    private static func exchange<Assembler: StreamAssembler, Body>(
        _ open: @Sendable () async throws(UpstreamFailure) -> Answer<Body>,
        maxTokens: Int,
        requestIDHeaders: [String],
        assembler: Assembler.Type,
        sink: any DeltaSink,
        output: OutputSeen,
        plainReply: @Sendable (Int, HTTPHeaders, Data) throws(UpstreamFailure) -> UpstreamResponse
    ) async throws(UpstreamFailure) -> UpstreamResponse {
        let response = try await open()
        let status = response.status
        let headers = response.headers
        let requestID = UpstreamNumbers.requestID(requestIDHeaders.lazy.compactMap { headers.first(name: $0) }.first)
        let contentType = headers.first(name: "content-type")?.lowercased() ?? ""
        guard (200..<300).contains(status), !contentType.hasPrefix("application/json") else {
            let body = try await collect(response.body)
            let reply = try plainReply(status, headers, body)
            if let content = reply.content, !content.isEmpty, content.utf8.count <= UpstreamNumbers.maxContentBytes(maxTokens: maxTokens) {
                output.mark()
                await sink.delta(content)
            }
            return reply
        }

        func failure(_ message: String) -> UpstreamFailure {
            UpstreamFailure(kind: .transient, statusCode: status, message: message, requestID: requestID)
        }
        var parser = SSEParser(maxLineBytes: maxLineBytes, maxTotalBytes: HTTPExchange.maxResponseBytes)
        var answer = Assembler()
        var contentBytes = 0
        let maxContentBytes = UpstreamNumbers.maxContentBytes(maxTokens: maxTokens)
        /// Reads events until the one that ends the stream; true once it was read.
        func read(_ events: [SSEEvent]) async throws(UpstreamFailure) -> Bool {
            for event in events {
                var text: String
                do { text = try answer.take(event) } catch {
                    var failure = error
                    failure.statusCode = failure.statusCode ?? status
                    failure.requestID = failure.requestID ?? requestID
                    throw failure
                }
                text = text.storable
                if !text.isEmpty {
                    contentBytes += text.utf8.count
                    guard contentBytes <= maxContentBytes else { throw failure("answer far longer than max_tokens allows") }
                    output.mark()
                    await sink.delta(text)
                }
                if answer.isFinished { return true }
            }
            return false
        }
        var iterator = response.body.makeAsyncIterator()
        while true {
            let buffer: ByteBuffer?
            do { buffer = try await iterator.next() } catch {
                var failure = HTTPExchange.transportFailure(error)
                failure.requestID = requestID
                throw failure
            }
            guard let buffer else { break }
            let events: [SSEEvent]
            do { events = try parser.feed(buffer) } catch {
                throw failure(
                    error == .line
                        ? "stream line longer than \(maxLineBytes >> 20) MiB" : "response body larger than \(HTTPExchange.maxResponseBytes >> 20) MiB"
                )
            }
            if try await read(events) {
                return answer.response(status: status, requestID: requestID, exhaustedFor: HTTPExchange.exhaustedFor(headers))
            }
        }
        if Task.isCancelled { throw UpstreamFailure(kind: .transient, statusCode: status, message: "cancelled", requestID: requestID) }
        let last: [SSEEvent]
        do { last = try parser.finish() } catch { throw failure("stream line longer than \(maxLineBytes >> 20) MiB") }
        if try await read(last) {
            return answer.response(status: status, requestID: requestID, exhaustedFor: HTTPExchange.exhaustedFor(headers))
        }
        throw failure("stream ended before its last event")
    }
}

extension StreamExchange {
    /// A whole body, bounded as `complete` bounds it (``HTTPExchange/maxResponseBytes``).
    fileprivate static func collect<Body: AsyncSequence>(_ body: Body) async throws(UpstreamFailure) -> Data where Body.Element == ByteBuffer {
        var data = Data()
        do {
            for try await buffer in body {
                guard data.count + buffer.readableBytes <= HTTPExchange.maxResponseBytes else {
                    throw NIOTooManyBytesError(maxBytes: HTTPExchange.maxResponseBytes)
                }
                data.append(contentsOf: buffer.readableBytesView)
            }
        } catch {
            throw HTTPExchange.transportFailure(error)
        }
        return data
    }
}

/// Whether a delta reached the sink, read after the call by whichever of the call and its
/// deadline finished first.
private final class OutputSeen: Sendable {
    private let flag = Atomic(false)
    func mark() { flag.store(true, ordering: .relaxed) }
    var seen: Bool { flag.load(ordering: .relaxed) }
}
