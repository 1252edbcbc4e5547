/// What a tenant is told about an upstream failure: a fixed category, the status and the
/// upstream's request id — never the upstream's own text, which can quote the provider's key
/// or another tenant's data (SYSTEM.md, guarantee 10). Admins read the (redacted) text in the
/// job's calls; tenants read this sentence, built from the same call record.
public enum UpstreamErrorSummary {
    /// `The upstream provider refused the credentials (bad_credentials, HTTP 401, request id req_1)`.
    public static func sentence(errorClass: String?, statusCode: Int?, requestID: String?) -> String {
        let category = errorClass ?? "upstream_error"
        let what: String
        switch category {
        case "rate_limited": what = "The upstream provider is rate limiting requests"
        case "invalid_request": what = "The upstream provider refused the request"
        case "context_too_long": what = "The prompt is too long for the model's context"
        case "bad_credentials": what = "The upstream provider refused the credentials"
        case "quota_exhausted": what = "The upstream provider's quota is exhausted"
        case "transient": what = statusCode == nil ? "The upstream provider could not be reached" : "The upstream provider failed"
        default: what = "The upstream provider failed"
        }
        var details = [category]
        if let statusCode { details.append("HTTP \(statusCode)") }
        if let requestID, !requestID.isEmpty { details.append("request id \(requestID)") }
        return "\(what) (\(details.joined(separator: ", ")))"
    }
}
