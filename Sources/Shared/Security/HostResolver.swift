/// Turns a host name into its numeric addresses: the seam behind ``WebhookTargetPolicy``'s
/// lookups, so tests can put a resolver of their own (slow, silent) in place of DNS.
public protocol HostResolver: Sendable {
    /// The host's numeric addresses, or nil when it does not resolve. May take as long as the
    /// resolver does; ``AddressLookupGate`` bounds how many run and how long a caller waits.
    func addresses(of host: String) async -> [String]?
}
