import Crypto

/// A Lua script run by `EVALSHA`. Redis caches scripts by their SHA-1; the client loads the source
/// again transparently when Redis answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`).
public struct RedisScript: Sendable, Hashable {
    public let source: String
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
