#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which numeric addresses a webhook may reach: only public unicast ones. Everything a server
/// could be tricked into calling on the service's own side — loopback, private and carrier-grade
/// NAT ranges, link-local (cloud metadata lives at 169.254.169.254), unique-local, multicast,
/// unspecified, documentation and reserved ranges — is not public, including when written as an
/// IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 address.
public enum IPAddressClass {
    /// True only for a well-formed numeric IPv4 or IPv6 address (as `inet_pton` reads it; no zone
    /// id) in public unicast space. Anything unparsable is not public.
    public static func isPublic(_ numericAddress: String) -> Bool {
        if let v4 = parse(numericAddress, family: AF_INET, size: 4) {
            return isPublicV4(v4)
        }
        if let v6 = parse(numericAddress, family: AF_INET6, size: 16) {
            return isPublicV6(v6)
        }
        return false
    }

    /// True for a numeric loopback address (127.0.0.0/8, ::1, or ::ffff:127.x.x.x).
    public static func isLoopback(_ numericAddress: String) -> Bool {
        if let v4 = parse(numericAddress, family: AF_INET, size: 4) {
            return v4[0] == 127
        }
        if let v6 = parse(numericAddress, family: AF_INET6, size: 16) {
            if v6[0..<15].allSatisfy({ $0 == 0 }) && v6[15] == 1 { return true }
            if isMapped(v6) { return v6[12] == 127 }
        }
        return false
    }

    private static func parse(_ text: String, family: Int32, size: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: size)
        let parsed = bytes.withUnsafeMutableBytes { buffer in
            inet_pton(family, text, buffer.baseAddress)
        }
        return parsed == 1 ? bytes : nil
    }

    static func isPublicV4(_ a: [UInt8]) -> Bool {
        let (b0, b1, b2) = (a[0], a[1], a[2])
        switch b0 {
        case 0: return false  // "this network", 0.0.0.0/8
        case 10: return false  // private
        case 100 where (64...127).contains(b1): return false  // carrier-grade NAT, 100.64/10
        case 127: return false  // loopback
        case 169 where b1 == 254: return false  // link-local
        case 172 where (16...31).contains(b1): return false  // private
        case 192 where b1 == 168: return false  // private
        case 192 where b1 == 0 && (b2 == 0 || b2 == 2): return false  // IETF protocol assignments, TEST-NET-1
        case 198 where b1 == 18 || b1 == 19: return false  // benchmarking, 198.18/15
        case 198 where b1 == 51 && b2 == 100: return false  // TEST-NET-2
        case 203 where b1 == 0 && b2 == 113: return false  // TEST-NET-3
        case 224...255: return false  // multicast 224/4, reserved 240/4, broadcast
        default: return true
        }
    }

    static func isPublicV6(_ a: [UInt8]) -> Bool {
        // ::/96 holds the unspecified address, loopback and the deprecated IPv4-compatible form.
        if a[0..<12].allSatisfy({ $0 == 0 }) {
            let tail = Array(a[12..<16])
            if tail.allSatisfy({ $0 == 0 }) || tail == [0, 0, 0, 1] { return false }
            return isPublicV4(tail)
        }
        if isMapped(a) { return isPublicV4(Array(a[12..<16])) }
        // NAT64 well-known prefix 64:ff9b::/96 reaches the embedded IPv4 address.
        if a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && a[4..<12].allSatisfy({ $0 == 0 }) {
            return isPublicV4(Array(a[12..<16]))
        }
        // 6to4, 2002::/16, tunnels to the IPv4 address in bytes 2...5.
        if a[0] == 0x20 && a[1] == 0x02 { return isPublicV4(Array(a[2..<6])) }
        if a[0] == 0xff { return false }  // multicast, ff00::/8
        if a[0] & 0xfe == 0xfc { return false }  // unique-local, fc00::/7
        if a[0] == 0xfe && a[1] & 0xc0 == 0x80 { return false }  // link-local, fe80::/10
        if a[0] == 0xfe && a[1] & 0xc0 == 0xc0 { return false }  // site-local (deprecated), fec0::/10
        if a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8 { return false }  // documentation
        if a[0] == 0x01 && a[1..<8].allSatisfy({ $0 == 0 }) { return false }  // discard-only, 100::/64
        // Only global unicast (2000::/3) is public.
        return a[0] & 0xe0 == 0x20
    }

    private static func isMapped(_ a: [UInt8]) -> Bool {
        a[0..<10].allSatisfy({ $0 == 0 }) && a[10] == 0xff && a[11] == 0xff
    }
}
