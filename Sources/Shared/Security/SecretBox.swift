public import Crypto
import Foundation
public import Logging

/// Encrypts provider API keys at rest with AES-GCM under `PROVIDER_KEY_SECRET`.
/// The sealed form is nonce ‖ ciphertext ‖ tag, as stored in `providers.api_key_encrypted`.
public struct SecretBox: Sendable {
    private let key: SymmetricKey

    public enum Failure: Error, Equatable {
        case cannotOpen
    }

    public init(key: SymmetricKey) {
        self.key = key
    }

    /// The box for this configuration. Outside production a missing secret falls back to a key
    /// derived from a fixed development string, so local runs work; production refuses to start
    /// without one (see ``AppConfiguration``).
    public init(configuration: AppConfiguration, logger: Logger) {
        if let secret = configuration.providerKeySecret, let bytes = Data(base64Encoded: secret), bytes.count == 32 {
            self.init(key: SymmetricKey(data: bytes))
        } else {
            logger.warning("PROVIDER_KEY_SECRET is not set; provider keys are encrypted with a development key")
            self.init(key: SymmetricKey(data: SHA256.hash(data: Array("saas-development-provider-key".utf8))))
        }
    }

    public func seal(_ plaintext: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Array(plaintext.utf8), using: key)
        guard let combined = box.combined else { throw Failure.cannotOpen }
        return Array(combined)
    }

    public func open(_ sealed: [UInt8]) throws -> String {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return String(decoding: try AES.GCM.open(box, using: key), as: UTF8.self)
        } catch {
            throw Failure.cannotOpen
        }
    }
}
