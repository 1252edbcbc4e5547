/// Why a webhook target was refused; `description` is the sentence the API answers with.
public enum WebhookTargetRefusal: Error, Equatable, CustomStringConvertible {
    /// Not an absolute http(s) URL with a host, or too long, or with userinfo; the reason.
    case invalidURL(String)
    /// Plain http to a host that is not loopback, or any plain http in production.
    case notHTTPS
    /// The host is, or resolves to, an address that is not public; the address.
    case privateAddress(String)
    /// The host did not resolve; the host.
    case unresolvable(String)

    public var description: String {
        switch self {
        case .invalidURL(let reason):
            "url must be an absolute http(s) URL: \(reason)"
        case .notHTTPS:
            "url must use https (http is allowed only to a loopback host outside production)"
        case .privateAddress(let address):
            "url must resolve to public addresses only; it reaches \(address)"
        case .unresolvable(let host):
            "url host '\(host)' could not be resolved"
        }
    }
}

/// A host that could not be looked up now: every place of ``AddressLookupGate`` was taken, or
/// the lookup timed out. Not a verdict on the URL: try again later.
public struct AddressLookupBusy: Error, Equatable {
    public var host: String
}
