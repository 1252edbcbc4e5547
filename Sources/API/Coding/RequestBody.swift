/// How large a request body may be: 413 past it (API.md, Conventions).
enum BodyLimit {
    /// 1 MiB: every body except job submissions (``AppRequestContext/maxUploadSize``).
    static let `default` = 1 << 20
    /// 3 MiB: `POST /api/jobs/create` (documents up to 2 MiB plus their envelope).
    static let jobSubmission = 3 << 20
}

/// A body type whose limit is not ``BodyLimit/default``; ``StrictJSONDecoder`` reads up to it.
protocol LimitedRequestBody: Decodable {
    static var bodyLimit: Int { get }
}

/// A body a route lets the client leave out: an empty (or blank) body decodes as ``empty``.
protocol OptionalRequestBody: Decodable {
    static var empty: Self { get }
}
