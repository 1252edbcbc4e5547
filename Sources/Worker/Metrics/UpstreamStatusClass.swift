/// The `status_class` of `saas_upstream_requests_total`: five values, whatever an upstream does.
enum UpstreamStatusClass: String, Sendable, CaseIterable {
    case success = "2xx"
    case clientError = "4xx"
    case serverError = "5xx"
    case timeout
    /// No usable HTTP status: the connection failed, a redirect (never followed), a body that
    /// could not be read or decoded — even under a 2xx.
    case error

    /// The class of one finished call.
    init(_ result: Result<UpstreamResponse, UpstreamFailure>) {
        switch result {
        case .success(let response):
            self = Self(status: response.statusCode) ?? .error
        case .failure(let failure):
            if failure.isTimeout {
                self = .timeout
            } else if let status = failure.statusCode, let known = Self(status: status), known != .success {
                self = known
            } else {
                self = .error
            }
        }
    }

    private init?(status: Int) {
        switch status {
        case 200...299: self = .success
        case 400...499: self = .clientError
        case 500...599: self = .serverError
        default: return nil
        }
    }
}
