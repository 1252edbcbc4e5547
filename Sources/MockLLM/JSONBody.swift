import Hummingbird
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads a request's JSON body, turning every way it can be wrong into the answer a provider gives:
/// 413 above `MockRequestContext.maximumBodySize`, 400 naming the field for the rest.
enum JSONBody {
    /// One decoder for all requests: its options never change, and creating one per request costs
    /// an allocation the benchmarks would pay thousands of times a second.
    private static let decoder = JSONDecoder()

    static func decode<Body: Decodable>(
        _ type: Body.Type,
        from body: RequestBody,
        context: MockRequestContext
    ) async -> Result<Body, UpstreamError> {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            return .failure(.bodyTooLarge)
        } catch {
            return .failure(.invalidRequest("The request body could not be read."))
        }
        return decode(type, from: buffer)
    }

    static func decode<Body: Decodable>(_ type: Body.Type, from buffer: ByteBuffer) -> Result<Body, UpstreamError> {
        let data = buffer.withUnsafeReadableBytes { Data($0) }
        do {
            return .success(try decoder.decode(type, from: data))
        } catch let error as DecodingError {
            return .failure(Self.problem(error))
        } catch {
            return .failure(.invalidRequest(Self.notJSON))
        }
    }

    static let notJSON =
        "We could not parse the JSON body of your request. The API expects a JSON payload, but what was sent was not valid JSON."

    /// The sentence for a decoding error, naming the field as `messages[0].content`.
    private static func problem(_ error: DecodingError) -> UpstreamError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return .invalidRequest(notJSON)
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            return .invalidRequest("Invalid value for '\(field)': \(context.debugDescription)", param: field)
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return .invalidRequest("Missing required parameter: '\(field)'.", param: field)
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let field = path(context.codingPath)
            if field.isEmpty { return .invalidRequest("The request body must be a JSON object.") }
            return .invalidRequest("Invalid type for '\(field)'.", param: field)
        @unknown default:
            return .invalidRequest(notJSON)
        }
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        var result = ""
        for key in codingPath {
            if let index = key.intValue {
                result += "[\(index)]"
            } else {
                if !result.isEmpty { result += "." }
                result += key.stringValue
            }
        }
        return result
    }
}
