import Foundation

/// The JSON of values kept in Redis (heartbeats, provider health): dates as epoch milliseconds,
/// compact and unambiguous for every process reading them.
enum RedisJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()
}
