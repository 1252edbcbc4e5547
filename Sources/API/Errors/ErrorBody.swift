import Foundation
public import Hummingbird

/// The one error body of the API: `{"detail": "<one sentence>"}`.
struct ErrorBody: Codable, Sendable {
    var detail: String
}

extension APIError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        makeResponse()
    }

    /// The answer: the status and `{"detail": …}`.
    func makeResponse() -> Response {
        let body = (try? JSONEncoder().encode(ErrorBody(detail: detail))) ?? Data(#"{"detail":"Internal server error"}"#.utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
