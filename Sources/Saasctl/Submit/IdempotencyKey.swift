import Crypto
import Foundation

/// The `Idempotency-Key` of one file's submit: `saasctl-` and the SHA-256 (hex) of the file's
/// absolute path, the SHA-256 of its content and the job fields it is sent with. Running
/// `submit` again over the same directory sends the same keys, so the API answers with the jobs
/// it already has instead of queueing (and charging) them twice; a changed file, or other
/// instructions or model, is a new job.
enum IdempotencyKey {
    static let prefix = "saasctl-"

    static func derive(path: String, content: some DataProtocol, job: JSONValue) -> String {
        let contentHash = SHA256.hash(data: content)
        var hasher = SHA256()
        // Each piece length-prefixed, so that no two different triples read the same.
        for piece in [Data(path.utf8), Data(contentHash), job.compact] {
            withUnsafeBytes(of: UInt64(piece.count).bigEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: piece)
        }
        return prefix + hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
