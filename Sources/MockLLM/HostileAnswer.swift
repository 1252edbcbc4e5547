import Hummingbird
import Logging
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The answer of one hostile kind to one call, in the call's dialect.
///
/// Built by the routes after the call passed authentication and validation (a real provider
/// rejects a bad request before anything else happens), from what the normal answer would have
/// been: its body, its text and its token counts.
struct HostileAnswer: Sendable {
    var dialect: Dialect
    var requestID: String
    var model: String
    /// The normal completion the route would have sent (tools and `max_tokens` honoured).
    var normal: ByteBuffer
    /// The parts of the normal answer, for the bodies that change one of them.
    var reply: HostileReplyBody
    /// The key the request presented (`Authorization: Bearer …` or `x-api-key`).
    var presentedKey: String
    /// The `Host` the request was sent to, for absolute redirect locations.
    var authority: String?
    /// The connection, so that `reset_mid_body` can end it with a TCP reset.
    var channel: (any Channel)?

    /// The masked key of the `unauthorized_401` message, in the shape OpenAI writes it. Tests look
    /// for it wherever a tenant can read: an upstream's error text must never reach one.
    static let maskedKey = "sk-proj-Hx7Q" + String(repeating: "*", count: 56) + "Zk3T"
    /// The path redirects point at; `ControlRoutes` counts its hits.
    static let redirectTargetPath = "/_mock/redirect-target"

    init(
        dialect: Dialect,
        request: Request,
        context: MockRequestContext,
        model: String,
        normal: ByteBuffer,
        text: String,
        promptTokens: Int,
        completionTokens: Int
    ) {
        self.dialect = dialect
        self.requestID = context.requestID
        self.model = model
        self.normal = normal
        self.reply = HostileReplyBody(
            dialect: dialect,
            requestID: context.requestID,
            model: model,
            text: text,
            promptTokens: promptTokens,
            completionTokens: completionTokens,
            created: Int(Date().timeIntervalSince1970)
        )
        self.presentedKey = Self.presentedKey(request.headers)
        self.authority = request.head.authority
        self.channel = context.channel
    }

    /// The answer, labelled with its kind in `x-mock-hostile-kind` (no provider sends that header,
    /// so it cannot change what a client does; tests and people reading a capture can see the kind).
    ///
    /// Logged with the request id the client records (`req_…`), so that a run's outcomes can be
    /// traced back to the kinds that caused them.
    func response(_ kind: HostileKind, logger: Logger) -> Response {
        logger.info("hostile answer", metadata: ["hostile_kind": "\(kind.rawValue)", "request_id": "req_\(self.requestID)"])
        var response = self.answer(kind)
        response.headers[.mockHostileKind] = kind.rawValue
        return response
    }

    private func answer(_ kind: HostileKind) -> Response {
        switch kind {
        case .ok: return Self.json(.ok, self.normal)
        case .created201: return Self.json(.created, self.normal)
        case .accepted202:
            return Self.json(.accepted, ByteBuffer(string: #"{"id":"batch_\#(self.requestID)","status":"queued"}"#))
        case .noContent204: return Response(status: .noContent)

        case .redirect301: return self.redirect(.movedPermanently, to: self.redirectTarget(crossOrigin: false))
        case .redirect302: return self.redirect(.found, to: self.redirectTarget(crossOrigin: false))
        case .redirect303: return self.redirect(.seeOther, to: self.redirectTarget(crossOrigin: false))
        case .redirect307: return self.redirect(.temporaryRedirect, to: self.redirectTarget(crossOrigin: false))
        case .redirect308: return self.redirect(.permanentRedirect, to: self.redirectTarget(crossOrigin: false))
        case .redirectCrossOrigin: return self.redirect(.temporaryRedirect, to: self.redirectTarget(crossOrigin: true))

        case .badRequest400:
            return self.error(.badRequest, "invalid_request_error", "Invalid request: 'messages' could not be processed.")
        case .unauthorized401:
            return self.error(
                .unauthorized,
                "invalid_request_error",
                Self.incorrectKey(Self.maskedKey),
                code: "invalid_api_key",
                anthropicType: "authentication_error"
            )
        case .unauthorized401Echo:
            return self.error(
                .unauthorized,
                "invalid_request_error",
                Self.incorrectKey(self.presentedKey),
                code: "invalid_api_key",
                anthropicType: "authentication_error"
            )
        case .paymentRequired402:
            return self.error(
                HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required"),
                "insufficient_quota",
                "Your credit balance is too low to access the API.",
                code: "insufficient_quota",
                anthropicType: "billing_error"
            )
        case .forbidden403:
            return self.error(
                .forbidden,
                "permission_error",
                "Your organization does not have access to this model.",
                anthropicType: "permission_error"
            )
        case .notFound404:
            return self.error(
                .notFound,
                "invalid_request_error",
                "The model `\(self.model)` does not exist or you do not have access to it.",
                code: "model_not_found",
                anthropicType: "not_found_error"
            )
        case .requestTimeout408:
            return self.error(.requestTimeout, "timeout", "Request timed out.", anthropicType: "timeout_error")
        case .conflict409:
            return self.error(.conflict, "conflict", "Another request with this idempotency key is in progress.")
        case .contentTooLarge413:
            return self.error(
                .contentTooLarge,
                "invalid_request_error",
                "Request exceeds the maximum allowed number of bytes.",
                code: "request_too_large",
                anthropicType: "request_too_large"
            )
        case .teapot418:
            return self.error(HTTPResponse.Status(code: 418, reasonPhrase: "I'm a teapot"), "invalid_request_error", "I'm a teapot.")
        case .unprocessable422:
            return self.error(.unprocessableContent, "invalid_request_error", "Unprocessable entity: messages[0].content is not valid.")
        case .rateLimited429:
            return self.rateLimited([.retryAfter: "1", .retryAfterMs: "1000"])

        case .serverError500:
            return self.error(
                .internalServerError,
                "server_error",
                "The server had an error while processing your request.",
                anthropicType: "api_error"
            )
        case .badGateway502HTML:
            return Self.page(.badGateway, HostilePages.badGateway)
        case .unavailable503:
            return self.error(
                .serviceUnavailable,
                "server_error",
                "The engine is currently overloaded, please try again later.",
                anthropicType: "api_error"
            )
        case .unavailable503RetryAfterHuge:
            return self.error(
                .serviceUnavailable,
                "server_error",
                "The engine is currently overloaded, please try again later.",
                anthropicType: "api_error",
                headers: [.retryAfter: "1e308"]
            )
        case .overloaded529:
            return self.error(
                HTTPResponse.Status(code: 529, reasonPhrase: "Overloaded"),
                "overloaded_error",
                "Overloaded",
                code: "overloaded",
                anthropicType: "overloaded_error"
            )
        case .unusual599:
            return self.error(
                HTTPResponse.Status(code: 599, reasonPhrase: "Network Connect Timeout Error"),
                "server_error",
                "Network connect timeout.",
                anthropicType: "api_error"
            )

        case .retryAfterHTTPDate:
            let inTwoSeconds = Int64(Date().timeIntervalSince1970.rounded(.down)) + 2
            return self.rateLimited([.retryAfter: HTTPDate.format(secondsSince1970: inTwoSeconds)])
        case .retryAfterPastDate: return self.rateLimited([.retryAfter: "Sun, 06 Nov 1994 08:49:37 GMT"])
        case .retryAfterYear9999: return self.rateLimited([.retryAfter: "Fri, 31 Dec 9999 23:59:59 GMT"])
        case .retryAfterNegative: return self.rateLimited([.retryAfter: "-30"])
        case .retryAfter1e308: return self.rateLimited([.retryAfter: "1e308"])
        case .retryAfterInf: return self.rateLimited([.retryAfter: "inf"])
        case .retryAfterNaN: return self.rateLimited([.retryAfter: "NaN"])
        case .retryAfterGarbage: return self.rateLimited([.retryAfter: "soon-ish, maybe tomorrow"])
        case .retryAfterEmpty: return self.rateLimited([.retryAfter: ""])
        case .retryAfter20Digits: return self.rateLimited([.retryAfter: "99999999999999999999"])
        case .retryAfterMs1e308: return self.rateLimited([.retryAfter: "1", .retryAfterMs: "1e308"])
        case .retryAfterMsNegative: return self.rateLimited([.retryAfter: "1", .retryAfterMs: "-1000"])

        case .rateLimitReset99999999h:
            return Self.json(.ok, self.normal, headers: [.rateLimitRemainingRequests: "0", .rateLimitResetRequests: "99999999h"])
        case .rateLimitResetOverflow:
            return Self.json(
                .ok,
                self.normal,
                headers: [
                    .rateLimitRemainingTokens: "0", .rateLimitResetTokens: "99999999999999999999999h",
                ]
            )
        case .anthropicRateLimitYear9999:
            return Self.json(.ok, self.normal, headers: [.anthropicRequestsRemaining: "0", .anthropicRequestsReset: "9999-12-31T23:59:59Z"])
        case .anthropicRateLimitGarbage:
            return Self.json(.ok, self.normal, headers: [.anthropicTokensRemaining: "0", .anthropicTokensReset: "whenever"])

        case .truncatedJSON:
            return Self.json(.ok, self.normal.getSlice(at: self.normal.readerIndex, length: self.normal.readableBytes / 2) ?? ByteBuffer())
        case .choicesString: return Self.json(.ok, self.reply.write(.init(choices: Array(#""oops""#.utf8))))
        case .choicesEmpty: return Self.json(.ok, self.reply.write(.init(choices: Array("[]".utf8))))
        case .usageString: return self.usage("\"12\"", "\"7\"", total: "\"19\"")
        case .usageNegative: return self.usage("-5", "-7", total: "-12")
        case .usage1e30: return self.usage("1e30", "1e30", total: "2e30")
        case .usage9e18: return self.usage("9e18", "9e18", total: "1.8e19")
        case .usageInt64Max: return self.usage("9223372036854775807", "9223372036854775807", total: "18446744073709551614")
        case .contentNUL: return Self.json(.ok, self.reply.write(.init(content: Array(#""a\u0000b""#.utf8))))
        case .contentLoneSurrogate: return Self.json(.ok, self.reply.write(.init(content: Array(#""\ud800""#.utf8))))
        case .contentNotString:
            let content = self.dialect == .openAI ? #"{"text":"an object where a string belongs"}"# : "42"
            return Self.json(.ok, self.reply.write(.init(content: Array(content.utf8))))
        case .invalidUTF8:
            return Self.json(.ok, self.reply.write(.init(content: [UInt8(ascii: "\""), 0x61, 0xFF, 0xFE, 0xC0, 0x62, UInt8(ascii: "\"")])))
        case .errorBody200:
            return Self.json(
                .ok,
                self.errorBody("server_error", "The upstream provider returned an error.", code: "upstream_error", anthropicType: "api_error")
            )
        case .deepNesting:
            let depth = 100_000
            let nested = [UInt8](repeating: UInt8(ascii: "["), count: depth) + [UInt8](repeating: UInt8(ascii: "]"), count: depth)
            return Self.json(.ok, self.reply.write(.init(choices: nested)))
        case .toolCallsObject:
            let toolCalls =
                self.dialect == .openAI
                ? #"{"id":"call_\#(self.requestID.prefix(24))","type":"function","function":{"name":"get_weather","arguments":"{}"}}"#
                : #"[{"type":"tool_use","id":"toolu_\#(self.requestID.prefix(24))","name":"get_weather","input":"not an object"}]"#
            return Self.json(.ok, self.reply.write(.init(toolCalls: Array(toolCalls.utf8))))
        case .toolCallsBadArguments:
            let toolCalls =
                self.dialect == .openAI
                ? #"[{"id":42,"type":"function","function":{"arguments":{"city":["Paris",null,1e400]}}},"a string"]"#
                : #"[{"type":"tool_use","id":null,"input":[1,2,3]},{"type":"unknown_block"}]"#
            return Self.json(.ok, self.reply.write(.init(toolCalls: Array(toolCalls.utf8))))

        case .hugeBody10MB:
            return Self.json(.ok, self.reply.write(.init(content: HostilePages.hugeContent)))
        case .trickle:
            return HostileTransport.trickle(self.normal, headers: [.contentType: "application/json"])
        case .resetMidBody:
            return HostileTransport.resetMidBody(self.normal, headers: [.contentType: "application/json"], channel: self.channel)
        case .html200:
            return Self.page(.ok, HostilePages.signIn)
        case .jsonAsTextPlain:
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: self.normal))
        case .sseStream:
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: .init(byteBuffer: HostileTransport.eventStream(self.reply))
            )
        case .empty200:
            return Self.json(.ok, ByteBuffer())
        }
    }

    // MARK: the pieces

    private static func json(_ status: HTTPResponse.Status, _ body: ByteBuffer, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: body))
    }

    private static func page(_ status: HTTPResponse.Status, _ html: String) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    private func usage(_ prompt: String, _ completion: String, total: String) -> Response {
        Self.json(
            .ok,
            self.reply.write(
                .init(
                    promptTokens: Array(prompt.utf8),
                    completionTokens: Array(completion.utf8),
                    totalTokens: Array(total.utf8)
                )
            )
        )
    }

    private func rateLimited(_ headers: HTTPFields) -> Response {
        self.error(
            .tooManyRequests,
            "requests",
            "Rate limit reached for requests.",
            code: "rate_limit_exceeded",
            anthropicType: "rate_limit_error",
            headers: headers
        )
    }

    /// An error in the dialect's format: OpenAI's `{"error":{message,type,param,code}}` or
    /// Anthropic's `{"type":"error","error":{type,message},"request_id"}`.
    private func error(
        _ status: HTTPResponse.Status,
        _ type: String,
        _ message: String,
        code: String? = nil,
        anthropicType: String = "invalid_request_error",
        headers: HTTPFields = [:]
    ) -> Response {
        Self.json(status, self.errorBody(type, message, code: code, anthropicType: anthropicType), headers: headers)
    }

    private func errorBody(_ type: String, _ message: String, code: String?, anthropicType: String) -> ByteBuffer {
        var writer = JSONWriter(capacity: 256)
        switch self.dialect {
        case .openAI:
            writer.raw("{\"error\":{\"message\":")
            writer.string(message)
            writer.raw(",\"type\":")
            writer.string(type)
            writer.raw(",\"param\":null,\"code\":")
            writer.string(code)
            writer.raw("}}")
        case .anthropic:
            writer.raw("{\"type\":\"error\",\"error\":{\"type\":")
            writer.string(anthropicType)
            writer.raw(",\"message\":")
            writer.string(message)
            writer.raw("},\"request_id\":")
            writer.string("req_" + self.requestID)
            writer.raw("}")
        }
        return writer.buffer
    }

    private func redirect(_ status: HTTPResponse.Status, to location: String) -> Response {
        Response(
            status: status,
            headers: [.location: location, .contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: "<html><body>Moved to <a href=\"\(location)\">here</a>.</body></html>"))
        )
    }

    /// Absolute when the request named its host; another origin (`localhost` for an IP) when asked.
    private func redirectTarget(crossOrigin: Bool) -> String {
        guard let authority = self.authority, !authority.isEmpty else { return Self.redirectTargetPath }
        guard crossOrigin else { return "http://\(authority)\(Self.redirectTargetPath)" }
        let port = authority.split(separator: ":").last.flatMap { Int($0) }.map { ":\($0)" } ?? ""
        let host = authority.hasPrefix("localhost") ? "127.0.0.1" : "localhost"
        return "http://\(host)\(port)\(Self.redirectTargetPath)"
    }

    private static func incorrectKey(_ key: String) -> String {
        "Incorrect API key provided: \(key). You can find your API key at https://platform.openai.com/account/api-keys."
    }

    private static func presentedKey(_ headers: HTTPFields) -> String {
        if let key = headers[.xAPIKey], !key.isEmpty { return key }
        guard let authorization = headers[.authorization] else { return "" }
        let utf8 = authorization.utf8
        guard utf8.count > 7, utf8.prefix(7).elementsEqual("bearer ".utf8, by: { $0 | 0x20 == $1 | 0x20 }) else { return authorization }
        return String(decoding: utf8.dropFirst(7), as: UTF8.self)
    }
}
