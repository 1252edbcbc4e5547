import Foundation
import Hummingbird
import NIOCore
import NIOFoundationCompat
import Shared

/// The API's `RequestDecoder` (``AppRequestContext/requestDecoder``), so that every handler reads
/// its body with `try await request.decode(as: Body.self, context: context)` and meets API.md's
/// answers: a body past its limit (``LimitedRequestBody``, else ``BodyLimit/default``) is a 413;
/// not UTF-8, not JSON, or JSON with a trailing comma is a 400; text PostgreSQL cannot store
/// (``UnstorableText``), a number that does not fit its field (``JSONStrictness``) and valid JSON
/// of the wrong shape are 422s naming the field. Of duplicate keys, Foundation keeps the first.
struct StrictJSONDecoder: RequestDecoder {
    func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let limit = (T.self as? any LimitedRequestBody.Type)?.bodyLimit ?? context.maxUploadSize
        let data: Data
        do {
            data = Data(buffer: try await request.body.collect(upTo: limit))
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: limit)
        }
        if data.allSatisfy(Self.isWhiteSpace), let empty = (T.self as? any OptionalRequestBody.Type)?.empty as? T {
            return empty
        }
        return try decode(T.self, from: data)
    }

    /// The checks, in API.md's order, and the decoding of a body already read.
    func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(APIError) -> T {
        guard String(bytes: data, encoding: .utf8) != nil else { throw .bodyNotUTF8 }
        guard !JSONStrictness.hasTrailingComma(data) else { throw .bodyNotJSON }
        if let field = UnstorableText.firstPath(data) { throw .unstorableText(field: field) }
        do {
            return try Self.decodeBody(T.self, from: data)
        } catch DecodingError.dataCorrupted(let corruption) where corruption.underlyingError is JSONValueDecoder.NumberOutOfRange {
            throw .fieldNotInteger(APIError.field(corruption.codingPath))
        } catch DecodingError.dataCorrupted(let corruption) where corruption.codingPath.isEmpty {
            // Not JSON, or a number past `Double` (which JSONValueReader, like Foundation, does
            // not read at all): name the number's field if there is one.
            if let field = JSONStrictness.firstNonIntegerNumber(data) { throw .fieldNotInteger(field) }
            throw .bodyNotJSON
        } catch let error as DecodingError {
            throw APIError(decoding: error)
        } catch {
            throw .bodyInvalid
        }
    }

    /// The body decoded through ``JSONValueDecoder`` — a third of `JSONDecoder`'s cost for a
    /// submit (`saas-bench codecs`), and a number that does not fit named at its own field — or,
    /// for a body with a `Decimal`, `Date`, `Data` or `URL` in it, through `JSONDecoder`, whose
    /// strategies read those (a price's exact digits).
    static func decodeBody<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try JSONValueDecoder().decode(T.self, from: data)
        } catch is JSONValueDecoder.UnsupportedType {
            return try JSONDecoder().decode(T.self, from: data)
        }
    }

    private static func isWhiteSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}

extension APIError {
    /// A decoding failure as the client should read it: a syntax error is 400, anything about a
    /// field (missing, wrong type, invalid value) is 422 and names the field.
    init(decoding error: DecodingError) {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            self = .bodyNotJSON
        case .dataCorrupted(let context):
            self = .fieldInvalid(Self.field(context.codingPath), context.debugDescription)
        case .keyNotFound(let key, let context):
            self = .fieldRequired(Self.field(context.codingPath + [key]))
        case .valueNotFound(_, let context):
            self = .fieldNull(Self.field(context.codingPath))
        case .typeMismatch(let type, let context):
            self = context.codingPath.isEmpty ? .bodyNotObject : .fieldType(Self.field(context.codingPath), type)
        @unknown default:
            self = .bodyInvalid
        }
    }

    /// `models[0].priority`: the wire's keys (snake_case) joined by dots, indexes in brackets.
    static func field(_ path: [any CodingKey]) -> String {
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
}
