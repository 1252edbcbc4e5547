import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import API

/// The API's `RequestDecoder` on its own, without a database: each refusal API.md asks of a
/// body, and the per-type limits and optional bodies that `request.decode` reads through it.
@Suite("StrictJSONDecoder: the API's strict bodies")
struct StrictJSONDecoderTests {
    /// camelCase in Swift, snake_case on the wire (the sentences name the wire's keys).
    struct Body: Decodable, Equatable {
        struct Model: Decodable, Equatable {
            var modelName: String
            var priority: Int

            enum CodingKeys: String, CodingKey {
                case modelName = "model_name"
                case priority
            }
        }

        var teamID: String
        var credits: Int?
        var ratio: Double?
        var models: [Model]?

        enum CodingKeys: String, CodingKey {
            case teamID = "team_id"
            case credits, ratio, models
        }
    }

    struct Large: LimitedRequestBody {
        static let bodyLimit = 2 << 20
        var text: String
    }

    struct OptionalBody: OptionalRequestBody, Equatable {
        static let empty = OptionalBody(graceSeconds: nil)
        var graceSeconds: Int?

        enum CodingKeys: String, CodingKey { case graceSeconds = "grace_seconds" }
    }

    func decode(_ text: String) throws(APIError) -> Body {
        try StrictJSONDecoder().decode(Body.self, from: Data(text.utf8))
    }

    func refusal(_ text: String) -> APIError? {
        do {
            _ = try decode(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("a valid body decodes into camelCase properties from snake_case keys")
    func decodes() throws {
        let body = try decode(#"{"team_id": "t1", "credits": 5, "models": [{"model_name": "m", "priority": 2}]}"#)
        #expect(body == Body(teamID: "t1", credits: 5, ratio: nil, models: [.init(modelName: "m", priority: 2)]))
    }

    @Test("not UTF-8, not JSON, or a trailing comma: 400")
    func badRequests() {
        #expect(refusal(#"{"team_id": "t1",}"#) == .badRequest("Request body is not valid JSON"))
        #expect(refusal(#"{"team_id": ["a",]}"#) == .badRequest("Request body is not valid JSON"))
        #expect(refusal(#"{"team_id": "t1""#) == .badRequest("Request body is not valid JSON"))
        #expect(refusal("") == .badRequest("Request body is not valid JSON"))
        do {
            _ = try StrictJSONDecoder().decode(Body.self, from: Data([0x7B, 0xFF, 0x7D]))
            Issue.record("invalid UTF-8 decoded")
        } catch {
            #expect(error == .badRequest("Request body is not valid UTF-8"))
        }
        // A comma inside a string is text, not a trailing comma.
        #expect(refusal(#"{"team_id": "a,}"}"#) == nil)
    }

    @Test("U+0000 and lone surrogates: 422 naming the field by its wire name")
    func unstorable() {
        #expect(refusal(#"{"team_id": "a\u0000"}"#) == .unprocessable("Field 'team_id' must not contain U+0000 or unpaired surrogates"))
        #expect(
            refusal(#"{"team_id": "t", "models": [{"model_name": "\ud800", "priority": 1}]}"#)
                == .unprocessable("Field 'models[0].model_name' must not contain U+0000 or unpaired surrogates")
        )
    }

    @Test("numbers that do not fit an integer field: 422 naming the field")
    func numbers() {
        #expect(refusal(#"{"team_id": "t", "credits": 1e400}"#) == .unprocessable("Field 'credits' must be an integer"))
        #expect(refusal(#"{"team_id": "t", "credits": 9223372036854775808}"#) == .unprocessable("Field 'credits' must be an integer"))
        #expect(
            refusal(#"{"team_id": "t", "models": [{"model_name": "m", "priority": 1.5}]}"#)
                == .unprocessable("Field 'models[0].priority' must be an integer")
        )
        // The field that is wrong, not the first number with a fraction (a `Double` field's):
        // JSONDecoder reported the failure at the root, and the text's first such number was named.
        #expect(refusal(#"{"team_id": "t", "ratio": 0.5, "credits": 5.5}"#) == .unprocessable("Field 'credits' must be an integer"))
        #expect(refusal(#"{"team_id": "t", "ratio": 2.5e3, "credits": 7.0}"#) == nil)
    }

    @Test("the wrong shape: 422 naming the field")
    func shapes() {
        #expect(refusal(#"{"credits": 1}"#) == .unprocessable("Field 'team_id' is required"))
        #expect(refusal(#"{"team_id": null}"#) == .unprocessable("Field 'team_id' must not be null"))
        #expect(refusal(#"{"team_id": 5}"#) == .unprocessable("Field 'team_id' must be a string"))
        #expect(refusal(#"{"team_id": "t", "credits": "five"}"#) == .unprocessable("Field 'credits' must be an integer"))
        #expect(refusal(#"{"team_id": "t", "models": {}}"#) == .unprocessable("Field 'models' must be an array"))
        #expect(refusal(#"[1]"#) == .unprocessable("Request body must be a JSON object"))
    }

    @Test("duplicate keys: Foundation keeps the first, as it did before the decoder moved")
    func duplicateKeys() throws {
        #expect(try decode(#"{"team_id": "first", "team_id": "second"}"#).teamID == "first")
    }

    /// A router with one route per body type, behind the API's error middleware.
    func withRouter(_ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.post("/body") { request, context -> String in
            try await request.decode(as: Body.self, context: context).teamID
        }
        router.post("/large") { request, context -> String in
            String(try await request.decode(as: Large.self, context: context).text.utf8.count)
        }
        router.post("/optional") { request, context -> String in
            String(describing: try await request.decode(as: OptionalBody.self, context: context).graceSeconds)
        }
        var logger = Logger(label: "strict-json-decoder-tests")
        logger.logLevel = .critical
        try await Application(router: router, logger: logger).test(.router, test)
    }

    @Test("bodies past their type's limit are 413s; the default limit is 1 MiB")
    func limits() async throws {
        try await withRouter { client in
            let over = #"{"team_id": "\#(String(repeating: "x", count: 1 << 20))"}"#
            try await client.execute(uri: "/body", method: .post, body: ByteBuffer(string: over)) { response in
                #expect(response.status == .contentTooLarge)
                #expect(response.detail == "Request body is larger than the limit of \(1 << 20) bytes")
            }
            let large = #"{"text": "\#(String(repeating: "y", count: (1 << 20) + 10))"}"#
            try await client.execute(uri: "/large", method: .post, body: ByteBuffer(string: large)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == String((1 << 20) + 10))
            }
            let tooLarge = #"{"text": "\#(String(repeating: "y", count: 2 << 20))"}"#
            try await client.execute(uri: "/large", method: .post, body: ByteBuffer(string: tooLarge)) { response in
                #expect(response.status == .contentTooLarge)
                #expect(response.detail == "Request body is larger than the limit of \(2 << 20) bytes")
            }
        }
    }

    @Test("an optional body may be left out; a body that is there is still strict")
    func optionalBody() async throws {
        try await withRouter { client in
            for empty in ["", " \n"] {
                try await client.execute(uri: "/optional", method: .post, body: ByteBuffer(string: empty)) { response in
                    #expect(String(buffer: response.body) == "nil")
                }
            }
            try await client.execute(uri: "/optional", method: .post, body: ByteBuffer(string: #"{"grace_seconds": 30}"#)) { response in
                #expect(String(buffer: response.body) == "Optional(30)")
            }
            try await client.execute(uri: "/optional", method: .post, body: ByteBuffer(string: #"{"grace_seconds": 30,}"#)) { response in
                #expect(response.status == .badRequest)
            }
            // A required body left out is not JSON.
            try await client.execute(uri: "/body", method: .post, body: ByteBuffer()) { response in
                #expect(response.status == .badRequest)
                #expect(response.detail == "Request body is not valid JSON")
            }
        }
    }
}
