import AsyncHTTPClient

/// What an `HTTPClientError` means, in a sentence that never holds one of its associated values.
/// Those values are the request's own data: `invalidHeaderFieldValues` carries the header value
/// it refused — the admin or team key itself when one holds a control character — so describing
/// the error (`String(describing:)`, its `description`) would print the key on stderr. Known
/// cases get a sentence of their own; every other case the same generic one.
enum TransportErrorSentence {
    static let generic = "the HTTP client failed before an answer came"

    static func of(_ error: HTTPClientError) -> String {
        if let (_, sentence) = fixed.first(where: { $0.0 == error }) { return sentence }
        // The cases with associated values cannot be compared with `==` without the value; their
        // `shortDescription` names the case only (the library keeps it free of values for metric
        // labels), so it is compared, never shown.
        switch error.shortDescription {
        case HTTPClientError.invalidHeaderFieldValues([]).shortDescription:
            return "a request header holds a character HTTP does not allow (a key with a control character?); nothing was sent"
        case HTTPClientError.invalidHeaderFieldNames([]).shortDescription:
            return "a request header name is not valid HTTP; nothing was sent"
        case HTTPClientError.unsupportedScheme("").shortDescription:
            return "the URL's scheme is not http or https"
        default:
            return generic
        }
    }

    /// `HTTPClientError` is `Equatable`, not `Hashable`: a list searched in order.
    private static let fixed: [(HTTPClientError, String)] = [
        (.connectTimeout, "connection timed out"),
        (.readTimeout, "the answer stopped arriving (read timeout)"),
        (.writeTimeout, "the request could not be sent in time (write timeout)"),
        (.deadlineExceeded, "the request's deadline passed"),
        (.remoteConnectionClosed, "the API closed the connection before answering"),
        (.tlsHandshakeTimeout, "the TLS handshake timed out"),
        (.cancelled, "the request was cancelled"),
        (.invalidURL, "the URL is not valid"),
        (.emptyHost, "the URL has no host"),
        (.alreadyShutdown, "the HTTP client was already shut down"),
        (.bodyLengthMismatch, "the request body's length did not match its Content-Length"),
        (.getConnectionFromPoolTimeout, "no connection became free in time"),
    ]
}
