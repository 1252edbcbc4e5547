/// Which registered paths the OpenAPI document describes.
///
/// The document covers every route the API registers except the pages made for people: the admin
/// dashboard's HTML under `/admin` and the `/docs` page itself (with its script and stylesheet).
/// They answer HTML, not the JSON contract, and a fuzzer driven by the document must not post
/// sign-in forms. The JSON admin API lives under `/api/admin` and *is* documented.
enum DocumentScope {
    /// Path prefixes left out of the document, each matched on whole segments (`/admin` and
    /// `/admin/teams`, never `/administrators`).
    static let excludedPrefixes = ["/admin", "/docs"]

    /// Whether `path` (a route template such as `/api/jobs/{job_id}`) belongs in the document.
    static func documents(_ path: String) -> Bool {
        !excludedPrefixes.contains { path == $0 || path.hasPrefix($0 + "/") }
    }
}
