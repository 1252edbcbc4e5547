import Testing

@testable import Shared

/// The SSRF rules for webhook targets: which addresses are public, which URLs are well formed,
/// and what production refuses that development allows.
@Suite("Webhook target policy")
struct WebhookTargetPolicyTests {
    static let notPublic = [
        "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254", "127.0.0.1",
        "127.8.9.10", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.168.1.1", "192.0.2.1",
        "198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1",
        "255.255.255.255",
        "::", "::1", "fe80::1", "febf::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1", "fec0::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0", "::127.0.0.1",
        "64:ff9b::10.0.0.1", "2002:a00:1::1", "100::1",
        // not numeric addresses at all
        "", "localhost", "example.com", "1.2.3", "256.1.1.1", "fe80::1%eth0", "[::1]", "0x7f.0.0.1",
    ]

    static let publicAddresses = [
        "1.1.1.1", "8.8.8.8", "93.184.216.34", "100.63.255.255", "100.128.0.1", "172.15.255.255", "172.32.0.1",
        "169.253.1.1", "192.167.1.1", "223.255.255.254", "2606:4700:4700::1111", "2001:4860:4860::8888",
        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
    ]

    @Test("non-public addresses", arguments: notPublic)
    func notPublicAddress(_ address: String) {
        #expect(!IPAddressClass.isPublic(address))
    }

    @Test("public addresses", arguments: publicAddresses)
    func publicAddress(_ address: String) {
        #expect(IPAddressClass.isPublic(address))
    }

    @Test("loopback addresses, IPv4, IPv6 and mapped")
    func loopback() {
        for address in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            #expect(IPAddressClass.isLoopback(address), "\(address)")
        }
        for address in ["10.0.0.1", "::", "::2", "8.8.8.8", "localhost"] {
            #expect(!IPAddressClass.isLoopback(address), "\(address)")
        }
    }

    @Test("malformed URLs are refused in any environment")
    func malformed() {
        let long = "https://example.com/" + String(repeating: "a", count: 2_100)
        for production in [false, true] {
            let policy = WebhookTargetPolicy(production: production)
            for url in [
                "", "example.com/hook", "ftp://example.com/", "https://", "https:///path", "https://user:pw@example.com/",
                "https://user@example.com/", "https://exa mple.com/", "https://example.com/\u{e9}", "https://ex%41mple.com/",
                "mailto:a@example.com", "https://example.com/\n", long,
            ] {
                #expect(throws: WebhookTargetRefusal.self, "\(url)") { try policy.checkURL(url) }
                switch Result(catching: { () throws(WebhookTargetRefusal) in try policy.checkURL(url) }) {
                case .failure(.invalidURL): break
                default: Issue.record("\(url) should be an invalid URL")
                }
            }
        }
    }

    @Test("http only to loopback and only outside production")
    func httpToLoopback() throws {
        let development = WebhookTargetPolicy(production: false)
        for url in ["http://localhost:8080/hook", "http://127.0.0.1/hook", "http://[::1]:9000/", "http://LOCALHOST/"] {
            try development.checkURL(url)
        }
        #expect(throws: WebhookTargetRefusal.notHTTPS) { try development.checkURL("http://example.com/hook") }
        #expect(throws: WebhookTargetRefusal.notHTTPS) { try development.checkURL("http://10.0.0.1/hook") }
        let production = WebhookTargetPolicy(production: true)
        #expect(throws: WebhookTargetRefusal.notHTTPS) { try production.checkURL("http://localhost:8080/hook") }
        #expect(throws: WebhookTargetRefusal.notHTTPS) { try production.checkURL("http://127.0.0.1/hook") }
        #expect(throws: WebhookTargetRefusal.notHTTPS) { try production.checkURL("http://example.com/hook") }
    }

    @Test("development allows https anywhere without resolving")
    func developmentHTTPS() async throws {
        let development = WebhookTargetPolicy(production: false)
        try await development.checkResolved("https://10.0.0.1/hook")
        try await development.checkResolved("https://no-such-host.invalid/hook")
    }

    @Test("production refuses private literals without resolving")
    func productionLiterals() async {
        let production = WebhookTargetPolicy(production: true)
        let cases: [(String, String)] = [
            ("https://10.1.2.3/hook", "10.1.2.3"), ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
            ("https://[::1]/hook", "::1"), ("https://[fd00::1]:8443/", "fd00::1"),
            ("https://[::ffff:192.168.0.1]/", "::ffff:192.168.0.1"), ("https://100.64.1.1/", "100.64.1.1"),
        ]
        for (url, address) in cases {
            await #expect(throws: WebhookTargetRefusal.privateAddress(address), "\(url)") {
                try await production.checkResolved(url)
            }
            #expect(throws: WebhookTargetRefusal.privateAddress(address), "\(url)") { try production.checkURL(url) }
        }
    }

    @Test("production accepts a public literal")
    func productionPublicLiteral() async throws {
        try await WebhookTargetPolicy(production: true).checkResolved("https://93.184.216.34/hook")
        try await WebhookTargetPolicy(production: true).checkResolved("https://[2606:4700:4700::1111]/hook")
    }

    @Test("production resolves names: localhost is loopback and refused")
    func productionResolvesLocalhost() async {
        let production = WebhookTargetPolicy(production: true)
        do {
            try await production.checkResolved("https://localhost:8443/hook")
            Issue.record("localhost was accepted in production")
        } catch {
            guard case .privateAddress(let address) = error else {
                Issue.record("expected privateAddress, got \(error)")
                return
            }
            #expect(IPAddressClass.isLoopback(address))
        }
    }

    @Test("production refuses a name that does not resolve")
    func productionUnresolvable() async {
        await #expect(throws: WebhookTargetRefusal.unresolvable("no-such-host.invalid")) {
            try await WebhookTargetPolicy(production: true).checkResolved("https://no-such-host.invalid/hook")
        }
    }

    @Test("every refusal names the url in a sentence")
    func descriptions() {
        let refusals: [WebhookTargetRefusal] = [
            .invalidURL("it has no host"), .notHTTPS, .privateAddress("10.0.0.1"), .unresolvable("x.invalid"),
        ]
        for refusal in refusals {
            #expect(refusal.description.hasPrefix("url "), "\(refusal)")
        }
    }
}
