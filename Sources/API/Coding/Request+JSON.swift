import Foundation
import Hummingbird
import NIOCore

extension Request {
    /// Reads the body (at most `limit` bytes: 413 beyond) and decodes it:
    /// not UTF-8 or not JSON → 400; text PostgreSQL cannot store (``UnstorableText``) or valid
    /// JSON of the wrong shape → 422 naming the field.
    func decodeJSON<T: Decodable>(_ type: T.Type, context: AppRequestContext, limit: Int = BodyLimit.default) async throws -> T {
        try Self.decode(T.self, from: try await collectBody(limit: limit), context: context)
    }

    /// As ``decodeJSON(_:context:limit:)``, for routes whose body is optional: nil when empty.
    func decodeJSONIfPresent<T: Decodable>(_ type: T.Type, context: AppRequestContext, limit: Int = BodyLimit.default) async throws -> T? {
        let data = try await collectBody(limit: limit)
        guard !data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else { return nil }
        return try Self.decode(T.self, from: data, context: context)
    }

    private func collectBody(limit: Int) async throws -> Data {
        do {
            return Data(buffer: try await body.collect(upTo: limit))
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: limit)
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, from data: Data, context: AppRequestContext) throws -> T {
        guard String(validatingUTF8Bytes: data) != nil else {
            throw APIError.badRequest("Request body is not valid UTF-8")
        }
        guard !JSONStrictness.hasTrailingComma(data) else {
            throw APIError.badRequest("Request body is not valid JSON")
        }
        if let field = UnstorableText.firstPath(data) {
            throw APIError.unprocessable(
                field.isEmpty
                    ? "Request body must not contain U+0000 or unpaired surrogates"
                    : "Field '\(field)' must not contain U+0000 or unpaired surrogates"
            )
        }
        do {
            return try context.requestDecoder.decode(T.self, from: data)
        } catch DecodingError.dataCorrupted(let corruption) where corruption.codingPath.isEmpty {
            // Valid JSON whose number does not fit its field is reported at the root; find it.
            if let field = JSONStrictness.firstNonIntegerNumber(data) {
                throw APIError.unprocessable("Field '\(field)' must be an integer")
            }
            throw APIError.badRequest("Request body is not valid JSON")
        } catch let error as DecodingError {
            throw APIError(decoding: error)
        }
    }
}

extension String {
    init?(validatingUTF8Bytes data: Data) {
        guard let string = String(bytes: data, encoding: .utf8) else { return nil }
        self = string
    }
}

extension APIError {
    /// A decoding failure as the client should read it: a syntax error is 400, anything about a
    /// field (missing, wrong type, invalid value) is 422 and names the field.
    init(decoding error: DecodingError) {
        func field(_ path: [any CodingKey]) -> String {
            var out = ""
            for key in path {
                if let index = key.intValue {
                    out += "[\(index)]"
                } else {
                    out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return out
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            self = .badRequest("Request body is not valid JSON")
        case .dataCorrupted(let context):
            self = .unprocessable("Field '\(field(context.codingPath))' is invalid: \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            self = .unprocessable("Field '\(field(context.codingPath + [key]))' is required")
        case .valueNotFound(_, let context):
            self = .unprocessable("Field '\(field(context.codingPath))' must not be null")
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty {
                self = .unprocessable("Request body must be a JSON object")
            } else {
                self = .unprocessable("Field '\(field(context.codingPath))' must be \(Self.describe(type))")
            }
        @unknown default:
            self = .unprocessable("Request body is invalid")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is Double.Type, is Decimal.Type, is Float.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Array<Any>.Type: return "an array"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "of type \(name)"
        }
    }
}
