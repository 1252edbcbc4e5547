/// The hostile catalogue: every kind of answer the hostile mode draws from, one case each.
///
/// A real provider (or a proxy, a load balancer, a captive portal in front of it) can send any
/// status, any header, any body, at any speed. Each case is one thing a client must survive without
/// trapping, leaking a key, following a redirect or losing the job. The raw value is the kind's
/// short name, used in `PUT /_mock/behaviour` (`"kinds"`) and in `/_mock/stats` (`"hostile"`).
///
/// What each answer looks like, in both dialects, is `HostileAnswer`'s business.
enum HostileKind: String, Sendable, CaseIterable, Comparable {
    // MARK: 2xx that are, or are not, a completion

    /// 200 with the normal completion.
    case ok
    /// 201 with the normal completion.
    case created201 = "created_201"
    /// 202 with a body that is not a completion (`{"id","status":"queued"}`).
    case accepted202 = "accepted_202"
    /// 204 with no body at all.
    case noContent204 = "no_content_204"

    // MARK: redirects: `Location` is `/_mock/redirect-target`, which counts the clients that follow

    case redirect301 = "redirect_301"
    case redirect302 = "redirect_302"
    /// A client that follows a 303 turns the POST into a GET.
    case redirect303 = "redirect_303"
    case redirect307 = "redirect_307"
    case redirect308 = "redirect_308"
    /// 307 to another origin (`localhost` for `127.0.0.1`): a follower would carry the key across.
    case redirectCrossOrigin = "redirect_cross_origin"

    // MARK: 4xx

    case badRequest400 = "bad_request_400"
    /// 401 whose message shows a masked key, as OpenAI's does (`Incorrect API key provided: sk-proj-…`).
    case unauthorized401 = "unauthorized_401"
    /// 401 whose message repeats the key the request presented, in full.
    case unauthorized401Echo = "unauthorized_401_echo"
    case paymentRequired402 = "payment_required_402"
    case forbidden403 = "forbidden_403"
    case notFound404 = "not_found_404"
    case requestTimeout408 = "request_timeout_408"
    case conflict409 = "conflict_409"
    case contentTooLarge413 = "content_too_large_413"
    case teapot418 = "teapot_418"
    case unprocessable422 = "unprocessable_422"
    /// 429 with a sane `Retry-After: 1` and `retry-after-ms: 1000`.
    case rateLimited429 = "rate_limited_429"

    // MARK: 5xx and beyond

    case serverError500 = "server_error_500"
    /// 502 with the HTML page a reverse proxy sends.
    case badGateway502HTML = "bad_gateway_502_html"
    case unavailable503 = "unavailable_503"
    /// 503 with `Retry-After: 1e308`.
    case unavailable503RetryAfterHuge = "unavailable_503_retry_after_1e308"
    /// Anthropic's 529 `overloaded_error`.
    case overloaded529 = "overloaded_529"
    /// A status no RFC defines.
    case unusual599 = "unusual_599"

    // MARK: 429 with `Retry-After` in every form

    /// An HTTP date two seconds ahead.
    case retryAfterHTTPDate = "retry_after_http_date"
    /// An HTTP date in 1994.
    case retryAfterPastDate = "retry_after_past_date"
    /// An HTTP date in the year 9999.
    case retryAfterYear9999 = "retry_after_year_9999"
    case retryAfterNegative = "retry_after_negative"
    case retryAfter1e308 = "retry_after_1e308"
    case retryAfterInf = "retry_after_inf"
    case retryAfterNaN = "retry_after_nan"
    /// Text that is neither a number nor a date.
    case retryAfterGarbage = "retry_after_garbage"
    /// An empty header value.
    case retryAfterEmpty = "retry_after_empty"
    /// `99999999999999999999`: more digits than an `Int64` holds.
    case retryAfter20Digits = "retry_after_20_digits"
    /// `retry-after-ms: 1e308` beside a sane `Retry-After: 1`.
    case retryAfterMs1e308 = "retry_after_ms_1e308"
    case retryAfterMsNegative = "retry_after_ms_negative"

    // MARK: 200 with absurd rate-limit headers

    /// `x-ratelimit-remaining-requests: 0`, `x-ratelimit-reset-requests: 99999999h`.
    case rateLimitReset99999999h = "ratelimit_reset_99999999h"
    /// `x-ratelimit-remaining-tokens: 0`, `x-ratelimit-reset-tokens` of 23 digits of hours.
    case rateLimitResetOverflow = "ratelimit_reset_overflow"
    /// `anthropic-ratelimit-requests-remaining: 0`, reset `9999-12-31T23:59:59Z`.
    case anthropicRateLimitYear9999 = "anthropic_ratelimit_year_9999"
    /// `anthropic-ratelimit-tokens-remaining: 0`, reset `whenever`.
    case anthropicRateLimitGarbage = "anthropic_ratelimit_garbage"

    // MARK: 200 with a body that is wrong inside

    /// The normal completion cut in the middle.
    case truncatedJSON = "truncated_json"
    /// `choices` (Anthropic: `content`) is a string.
    case choicesString = "choices_string"
    /// `choices` (Anthropic: `content`) is empty.
    case choicesEmpty = "choices_empty"
    /// Token counts as strings.
    case usageString = "usage_string"
    case usageNegative = "usage_negative"
    /// `1e30` tokens each.
    case usage1e30 = "usage_1e30"
    /// `9e18` tokens each: fits an `Int64`, but not after a price is applied.
    case usage9e18 = "usage_9e18"
    /// `9223372036854775807` tokens each: their sum overflows.
    case usageInt64Max = "usage_int64_max"
    /// Content `"a\u0000b"`: JSON allows it, PostgreSQL text does not.
    case contentNUL = "content_nul"
    /// Content `"\ud800"`: a lone surrogate escape.
    case contentLoneSurrogate = "content_lone_surrogate"
    /// Content that is an object (Anthropic: `text` a number).
    case contentNotString = "content_not_string"
    /// Raw bytes 0xFF 0xFE inside the content string.
    case invalidUTF8 = "invalid_utf8"
    /// 200 whose body is an error object, as some proxies send.
    case errorBody200 = "error_body_200"
    /// `choices` nested 100,000 arrays deep.
    case deepNesting = "deep_nesting"
    /// `tool_calls` an object instead of an array (Anthropic: `input` a string).
    case toolCallsObject = "tool_calls_object"
    /// Tool calls without a name, with a numeric id and object arguments (Anthropic: `input` an array).
    case toolCallsBadArguments = "tool_calls_bad_arguments"

    // MARK: size, speed, transport, framing

    /// A valid completion of about 10 MB.
    case hugeBody10MB = "huge_body_10mb"
    /// The normal completion, a few bytes every 100 ms for about four seconds.
    case trickle
    /// Half the body (of a `Content-Length` announcing all of it), then a TCP reset.
    case resetMidBody = "reset_mid_body"
    /// 200 `text/html` with a web page.
    case html200 = "html_200"
    /// The normal completion labelled `text/plain`.
    case jsonAsTextPlain = "json_as_text_plain"
    /// An SSE stream (`text/event-stream`) for a call that did not ask to stream.
    case sseStream = "sse_stream"
    /// 200 `application/json` with an empty body.
    case empty200 = "empty_200"

    static func < (lhs: HostileKind, rhs: HostileKind) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}
