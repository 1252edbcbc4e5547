import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which URLs a team's webhook may point at, so the service cannot be used to reach its own
/// network (SSRF). Checked when the endpoint is set and again before every send, since a name's
/// addresses can change between the two (DNS rebinding narrows to the gap between the check and
/// the connection; the sender also follows no redirects).
public struct WebhookTargetPolicy: Sendable {
    /// The longest URL accepted, as the `webhook_endpoints.url` check has it.
    public static let maximumLength = 2048

    private let production: Bool
    private let resolver: any HostResolver
    private let lookups: AddressLookupGate

    /// In production only https to public addresses is allowed; elsewhere http to a loopback host
    /// is allowed too (a receiver on the developer's machine), and names are not resolved.
    /// `resolver` answers production's lookups within `lookups`' bounds (the process's by
    /// default: a lookup never costs an unbounded thread).
    public init(
        production: Bool,
        resolver: any HostResolver = SystemHostResolver(),
        lookups: AddressLookupGate = .shared
    ) {
        self.production = production
        self.resolver = resolver
        self.lookups = lookups
    }

    /// Syntax and scheme, without touching the network: an absolute http(s) URL of at most 2048
    /// visible ASCII characters, with a host and no userinfo; https unless the host is loopback
    /// outside production. In production an IP-literal host must also be public.
    public func checkURL(_ url: String) throws(WebhookTargetRefusal) {
        let target = try Self.parse(url)
        if target.scheme == "http" {
            guard !production, Self.isLoopbackHost(target.host) else { throw .notHTTPS }
        }
        if production, Self.isNumeric(target.host), !IPAddressClass.isPublic(target.host) {
            throw .privateAddress(target.host)
        }
    }

    /// ``checkURL(_:)``, then, in production, the host's addresses: every one must be public, or
    /// the target is refused. A host that could not be looked up now (``AddressLookupBusy``) is
    /// refused as unresolvable: the sender tries the delivery again later.
    public func checkResolved(_ url: String) async throws(WebhookTargetRefusal) {
        do {
            try await checkResolvedOrBusy(url)
        } catch let refusal as WebhookTargetRefusal {
            throw refusal
        } catch {
            throw .unresolvable((error as? AddressLookupBusy)?.host ?? url)
        }
    }

    /// As ``checkResolved(_:)``, but a lookup that could not run now throws
    /// ``AddressLookupBusy`` (the API answers 503 with `Retry-After`), every other refusal a
    /// ``WebhookTargetRefusal``. The lookup blocks, so it runs on a thread of its own, never on
    /// the cooperative pool or an event loop, within ``AddressLookupGate``'s bounds.
    public func checkResolvedOrBusy(_ url: String) async throws {
        try checkURL(url)
        guard production else { return }
        let host = try Self.parse(url).host
        if Self.isNumeric(host) { return }  // classified by checkURL without resolving
        let addresses: [String]?
        switch await lookups.lookUp(host, with: resolver) {
        case .addresses(let found): addresses = found
        case .busy, .timedOut: throw AddressLookupBusy(host: host)
        }
        guard let addresses, !addresses.isEmpty else { throw WebhookTargetRefusal.unresolvable(host) }
        if let refused = addresses.first(where: { !IPAddressClass.isPublic($0) }) {
            throw WebhookTargetRefusal.privateAddress(refused)
        }
    }

    struct Target {
        var scheme: String
        /// Lowercased, without IPv6 brackets.
        var host: String
    }

    static func parse(_ url: String) throws(WebhookTargetRefusal) -> Target {
        guard !url.isEmpty else { throw .invalidURL("it is empty") }
        guard url.utf8.count <= maximumLength else {
            throw .invalidURL("it is longer than \(maximumLength) characters")
        }
        guard url.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw .invalidURL("it must be visible ASCII characters only")
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw .invalidURL("it cannot be parsed")
        }
        guard scheme == "https" || scheme == "http" else { throw .invalidURL("the scheme must be https or http") }
        guard components.percentEncodedUser == nil, components.percentEncodedPassword == nil else {
            throw .invalidURL("it must not carry a user name or password")
        }
        guard var host = components.percentEncodedHost?.lowercased(), !host.isEmpty else {
            throw .invalidURL("it has no host")
        }
        guard !host.contains("%") else { throw .invalidURL("the host must not be percent-encoded") }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            guard !host.isEmpty else { throw .invalidURL("it has no host") }
        }
        return Target(scheme: scheme, host: host)
    }

    static func isLoopbackHost(_ host: String) -> Bool {
        host == "localhost" || host == "localhost." || IPAddressClass.isLoopback(host)
    }

    static func isNumeric(_ host: String) -> Bool {
        var bytes = [UInt8](repeating: 0, count: 16)
        return bytes.withUnsafeMutableBytes { buffer in
            inet_pton(AF_INET, host, buffer.baseAddress) == 1 || inet_pton(AF_INET6, host, buffer.baseAddress) == 1
        }
    }
}
