import Foundation
import HTTPTypes
import OpenAPIKit

/// Builds the OpenAPI 3.1 document from the routes the route table recorded and the operations
/// of the catalogue. The routes decide *what* is in the document (so it cannot list a route that
/// does not exist, nor miss one that does); the catalogue says what each one takes and answers.
///
/// Built once, when the router is built: serving `/openapi.json` costs a cached byte buffer.
struct OpenAPIDocumentBuilder {
    var catalogue: [OperationKey: OperationSpec] = OperationCatalogue.byKey

    /// The document, and the registered operations the catalogue lacks (documented with a
    /// placeholder so the document stays whole; the tests require the list to be empty).
    struct Outcome {
        var document: OpenAPI.Document
        var undocumented: [OperationKey]
    }

    static let adminScheme = "AdminKey"
    static let teamScheme = "TeamKey"

    func build(routes: [(String, Set<HTTPRequest.Method>)]) -> Outcome {
        var paths: OpenAPI.PathItem.Map = [:]
        var undocumented: [OperationKey] = []
        for (path, methods) in routes where DocumentScope.documents(path) {
            var item = OpenAPI.PathItem(parameters: Self.pathParameters(path))
            for method in methods.sorted(by: { $0.rawValue < $1.rawValue }) {
                guard let verb = OpenAPI.HttpMethod(rawValue: method.rawValue) else { continue }
                let key = OperationKey(method: method, path: path)
                guard let spec = catalogue[key] else {
                    undocumented.append(key)
                    item[verb] = OpenAPI.Operation(
                        summary: "Undocumented",
                        responses: [.status(code: 200): .response(description: "Not described yet")]
                    )
                    continue
                }
                item[verb] = Self.operation(spec)
            }
            paths[OpenAPI.Path(rawValue: path)] = .b(item)
        }
        let document = OpenAPI.Document(
            openAPIVersion: .v3_1_1,
            info: .init(
                title: "LLM job service",
                description: """
                    A multi-tenant LLM job service: teams submit jobs (chat or documents), workers run them against the \
                    upstreams of their model groups, credits are reserved at submit and settled once. Every error is \
                    `{"detail": "<one sentence>"}`; every answer carries `X-Request-Id`.
                    """,
                version: "1"
            ),
            servers: [],
            paths: paths,
            components: Self.components,
            tags: APITag.allCases.map { OpenAPI.Tag(name: $0.rawValue, description: $0.summary) }
        )
        return Outcome(document: document, undocumented: undocumented)
    }

    /// The document's JSON, keys sorted so that the bytes are stable.
    static func encode(_ document: OpenAPI.Document) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(document)
    }

    // MARK: - Pieces

    static var components: OpenAPI.Components {
        var schemas: OpenAPI.ComponentDictionary<JSONSchema> = [:]
        for (name, schema) in ComponentSchemas.all {
            schemas[OpenAPI.ComponentKey(rawValue: name)!] = schema
        }
        return OpenAPI.Components(
            schemas: schemas,
            securitySchemes: [
                OpenAPI.ComponentKey(rawValue: adminScheme)!: .b(
                    .apiKey(name: "X-Admin-Key", location: .header, description: "The admin key (`MASTER_KEY`).")
                ),
                OpenAPI.ComponentKey(rawValue: teamScheme)!: .b(
                    .http(scheme: "bearer", description: "A team's virtual key: `Authorization: Bearer sk-...`.")
                ),
            ]
        )
    }

    /// `{name}` segments of a template, each a required path parameter.
    static func pathParameters(_ path: String) -> OpenAPI.Parameter.Array {
        path.split(separator: "/").compactMap { segment -> Either<OpenAPI.Reference<OpenAPI.Parameter>, OpenAPI.Parameter>? in
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else { return nil }
            let name = String(segment.dropFirst().dropLast())
            return .b(.path(name: name, schema: pathParameterSchemas[name] ?? .string(minLength: 1), description: nil))
        }
    }

    /// What each path parameter holds (an id the route cannot parse is its 404).
    static let pathParameterSchemas: [String: JSONSchema] = [
        "job_id": .uuid, "call_id": .uuid,
        "team_id": ComponentSchemas.identifier, "org_id": ComponentSchemas.identifier, "name": ComponentSchemas.identifier,
        "worker_id": .string(minLength: 1, maxLength: 200),
    ]

    static func security(_ auth: AuthScheme) -> [OpenAPI.SecurityRequirement]? {
        let admin: OpenAPI.SecurityRequirement = [.component(named: adminScheme): []]
        let team: OpenAPI.SecurityRequirement = [.component(named: teamScheme): []]
        switch auth {
        case .admin: return [admin]
        case .team: return [team]
        case .teamOrAdmin: return [team, admin]
        case .none: return []
        }
    }

    static func operation(_ spec: OperationSpec) -> OpenAPI.Operation {
        var parameters: OpenAPI.Parameter.Array = spec.query.map {
            .b(.query(name: $0.name, required: $0.required, schema: $0.schema, description: $0.description))
        }
        parameters += spec.headers.map { .b(.header(name: $0.name, schema: $0.schema, description: $0.description)) }
        var responses: OpenAPI.Response.Map = [:]
        for answer in spec.answers {
            var content = OpenAPI.Content(schema: answer.schema, example: answer.example.flatMap { Self.example($0, answer.mediaType) })
            content.vendorExtensions = [:]
            var headers: OpenAPI.Header.Map = [:]
            for (name, value) in answer.headers.sorted(by: { $0.key < $1.key }) {
                headers[name] = .b(OpenAPI.Header(schema: .string(description: "e.g. `\(value)`")))
            }
            responses[.status(code: answer.status)] = .b(
                OpenAPI.Response(description: answer.description, headers: headers.isEmpty ? nil : headers, content: [answer.mediaType: .b(content)])
            )
        }
        for error in errors(of: spec) {
            responses[.status(code: error.status)] = .b(
                OpenAPI.Response(
                    description: error.details.joined(separator: " · "),
                    content: [.json: .b(OpenAPI.Content(schema: .ref("Error"), example: AnyCodable(["detail": error.details[0]])))]
                )
            )
        }
        var requestBody: OpenAPI.Request?
        if let body = spec.body {
            var content: OpenAPI.Content.Map = [.json: .b(OpenAPI.Content(schema: body.schema, example: Self.example(body.example, .json)))]
            for alternative in body.alternatives {
                content[alternative.mediaType] = .b(OpenAPI.Content(schema: alternative.schema))
            }
            requestBody = OpenAPI.Request(description: body.description, content: content, required: body.required)
        }
        return OpenAPI.Operation(
            tags: [spec.tag.rawValue],
            summary: spec.summary,
            description: spec.description,
            operationId: operationID(spec),
            parameters: parameters,
            requestBody: requestBody,
            responses: responses,
            security: security(spec.auth)
        )
    }

    /// The errors an operation can answer: those its auth, body and path parameters imply, then
    /// its own; sentences of one status are merged, in that order.
    static func errors(of spec: OperationSpec) -> [ErrorAnswer] {
        var implied: [ErrorAnswer] = []
        switch spec.auth {
        case .admin:
            implied.append(ErrorAnswer(401, "Missing X-Admin-Key header. Admin authentication required.", "Invalid admin API key"))
        case .team, .teamOrAdmin:
            implied.append(
                ErrorAnswer(401, "Missing Authorization header. Expected: 'Authorization: Bearer sk-...'", "Invalid API key")
            )
            implied.append(ErrorAnswer(403, "Team access is suspended. Please contact support."))
        case .none:
            break
        }
        if spec.body != nil {
            implied.append(ErrorAnswer(400, "Request body is not valid JSON", "Request body is not valid UTF-8"))
            implied.append(ErrorAnswer(413, "Request body is larger than the limit of <n> bytes"))
        }
        if spec.body != nil || !spec.query.isEmpty || !spec.headers.isEmpty {
            implied.append(ErrorAnswer(422, "Field '<name>' is required", "Query parameter '<name>' must be …"))
        }
        if spec.path.hasPrefix("/api/") {
            implied.append(ErrorAnswer(503, "The database is busy; retry after 1 second", "The database is not available; retry later"))
        }
        var merged: [Int: [String]] = [:]
        var order: [Int] = []
        for error in implied + spec.errors {
            if merged[error.status] == nil { order.append(error.status) }
            for detail in error.details where !(merged[error.status] ?? []).contains(detail) {
                merged[error.status, default: []].append(detail)
            }
        }
        return order.sorted().map { status in
            var answer = ErrorAnswer(status)
            answer.details = merged[status] ?? []
            return answer
        }
    }

    /// `get_api_jobs_job_id`: unique per method and path.
    static func operationID(_ spec: OperationSpec) -> String {
        let words = spec.path.split { !$0.isLetter && !$0.isNumber }.joined(separator: "_")
        return "\(spec.method.rawValue.lowercased())_\(words)"
    }

    /// A JSON example as a value (text for other media types).
    static func example(_ text: String, _ mediaType: OpenAPI.ContentType) -> AnyCodable? {
        guard mediaType == .json else { return AnyCodable(text) }
        return try? JSONDecoder().decode(AnyCodable.self, from: Data(text.utf8))
    }
}
