import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Shared

/// A team's virtual key: `Authorization: Bearer sk-…` (the scheme in any case, which
/// hummingbird-auth's `headers.bearer` does not allow), looked up by the key's SHA-256 — one
/// index probe, cached in ``KeyCache`` — so that a request costs a dictionary lookup.
///
/// No such header, or another scheme: not this authenticator's request (nil; ``IdentityRequired``
/// answers). A key that is malformed or unknown: 401, counted as a failed attempt. A suspended
/// team is identified all the same; ``ActiveTeamPolicy`` refuses it after.
struct TeamAuthenticator: AuthenticatorMiddleware {
    typealias Context = AppRequestContext

    let teams: any TeamStore
    let cache: KeyCache
    let failures: FailedAuthRecorder

    func authenticate(request: Request, context: Context) async throws -> Context.Identity? {
        // Identified earlier in the chain: the admin key, on the routes both keys open.
        guard context.identity == nil, let key = Self.bearerToken(request.headers[.authorization]) else { return nil }
        guard VirtualKey.isWellFormed(key), let team = try await lookup(VirtualKey.hash(key)) else {
            failures.record(.teamInvalid, source: context.sourceAddress)
            throw APIError.invalidAPIKey
        }
        return .team(team)
    }

    /// The token of `Bearer <token>`, the scheme in any case; nil for anything else.
    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        if let token = plainBearerToken(header) { return token }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }

    /// The common header — `Bearer ` (any case) and a token of visible ASCII — read from its
    /// bytes, with no splitting, lowercasing or trimming; nil for any other header, which
    /// ``bearerToken(_:)`` then reads the general way (the same answer, at more cost).
    static func plainBearerToken(_ header: String) -> String? {
        let bytes = header.utf8
        guard bytes.count > 7 else { return nil }
        for (byte, expected) in zip(bytes.prefix(6), "bearer".utf8) where byte | 0x20 != expected {
            return nil
        }
        let token = bytes.dropFirst(7)
        guard bytes[bytes.index(bytes.startIndex, offsetBy: 6)] == UInt8(ascii: " "),
            token.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        return String(Substring(token))
    }

    private func lookup(_ hash: [UInt8]) async throws -> TeamIdentity? {
        // A kept answer (a team, or a remembered "no such key") without building the load's
        // closure: what almost every request finds.
        if let kept = cache.lookup(hash) { return kept }
        return try await cache.identity(for: hash) { [teams] in try await teams.identity(forKeyHash: hash) }
    }
}
