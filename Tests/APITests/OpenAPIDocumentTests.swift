import Foundation
import HTTPTypes
import Logging
import OpenAPIKit
import Postgres
import Redis
import Shared
import Testing

@testable import API

/// The document is true to the routes: every route the router registers (except the pages for
/// people, ``DocumentScope``) is in it with its method, and nothing else is; every operation has
/// a success, its auth's 401 and its body; the examples are what the routes accept and what their
/// schemas describe.
@Suite("OpenAPI document: built from the route table, kept true")
struct OpenAPIDocumentTests {
    /// The registered routes and the document built from them, as the app builds them.
    static func built() throws -> (routes: [(String, Set<HTTPRequest.Method>)], outcome: OpenAPIDocumentBuilder.Outcome, json: Data) {
        let registry = MethodRegistry()
        var logger = Logger(label: "openapi-tests")
        logger.logLevel = .critical
        let dependencies = try AppDependencies(configuration: try TestApp.configuration(), logger: logger)
        defer {
            dependencies.postgres.shutdown()
            dependencies.redis.shutdown()
        }
        _ = buildRouter(dependencies, routes: registry)
        let outcome = OpenAPIDocumentBuilder().build(routes: registry.snapshot())
        return (registry.snapshot(), outcome, try OpenAPIDocumentBuilder.encode(outcome.document))
    }

    static let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]

    static func documentedOperations(_ document: OpenAPI.Document) -> Set<OperationKey> {
        var keys: Set<OperationKey> = []
        for (path, item) in document.paths {
            guard case .b(let item) = item else { continue }
            for method in methods {
                if item[OpenAPI.HttpMethod(rawValue: method.rawValue)!] != nil {
                    keys.insert(OperationKey(method: method, path: path.rawValue))
                }
            }
        }
        return keys
    }

    @Test("every registered route except /admin and /docs is in the document, and every operation in it is registered")
    func documentMatchesRouteTable() throws {
        let (routes, outcome, _) = try Self.built()
        #expect(outcome.undocumented.isEmpty, "registered routes missing from OperationCatalogue: \(outcome.undocumented)")
        var registered: Set<OperationKey> = []
        var excluded = 0
        for (path, methods) in routes {
            for method in methods {
                if DocumentScope.documents(path) {
                    registered.insert(OperationKey(method: method, path: path))
                } else {
                    excluded += 1
                }
            }
        }
        let documented = Self.documentedOperations(outcome.document)
        #expect(registered.count > 60, "the route table lists \(registered.count) documented operations")
        #expect(
            documented == registered,
            "only registered: \(registered.subtracting(documented)); only documented: \(documented.subtracting(registered))"
        )
        #expect(documented.contains(OperationKey(method: .get, path: "/openapi.json")))
        #expect(!documented.contains { $0.path == "/docs" || $0.path.hasPrefix("/docs/") || $0.path == "/admin" || $0.path.hasPrefix("/admin/") })
        #expect(routes.contains { $0.0 == "/docs" }, "/docs is registered (and left out of the document)")
        _ = excluded
    }

    @Test("the exclusion rule matches whole segments")
    func exclusionRule() {
        #expect(!DocumentScope.documents("/admin"))
        #expect(!DocumentScope.documents("/admin/teams/{team_id}"))
        #expect(!DocumentScope.documents("/docs/{file}"))
        #expect(DocumentScope.documents("/api/admin/jobs"))
        #expect(DocumentScope.documents("/administrators"))
        #expect(DocumentScope.documents("/openapi.json"))
    }

    @Test("every operation has a 2xx, a 401 with the Error schema when it needs a key, its path parameters, and a body when the route takes one")
    func operationShapes() throws {
        let (_, outcome, _) = try Self.built()
        let errorSchema = JSONSchema.reference(.component(named: "Error"))
        var operationIDs: Set<String> = []
        for (path, item) in outcome.document.paths {
            guard case .b(let item) = item else { continue }
            let names = path.rawValue.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
            let declared = item.parameters.compactMap { $0.b }.filter { $0.location == .path }.map(\.name)
            #expect(Set(names) == Set(declared), "\(path.rawValue): path parameters \(declared)")
            for endpoint in item.endpoints {
                let label = "\(endpoint.method.rawValue) \(path.rawValue)"
                let operation = endpoint.operation
                let statuses = operation.responses.keys.compactMap { code -> Int? in
                    if case .status(let status) = code.value { status } else { nil }
                }
                #expect(statuses.contains { (200..<300).contains($0) }, "\(label): no 2xx answer")
                #expect(operation.summary?.isEmpty == false, "\(label): no summary")
                #expect(operationIDs.insert(operation.operationId ?? "").inserted, "\(label): operationId repeated")
                let secured = !(operation.security ?? []).isEmpty
                if secured {
                    let unauthorized = operation.responses[.status(code: 401)]?.b
                    #expect(unauthorized?.content[.json]?.b?.schema == errorSchema, "\(label): no 401 with the Error schema")
                }
                for (code, response) in operation.responses {
                    guard case .status(let status) = code.value, status >= 400, status != 503 || !path.rawValue.hasPrefix("/ready") else { continue }
                    #expect(response.b?.content[.json]?.b?.schema == errorSchema, "\(label): \(status) is not the Error schema")
                }
                let spec = try #require(
                    OperationCatalogue.byKey[OperationKey(method: HTTPRequest.Method(endpoint.method.rawValue)!, path: path.rawValue)]
                )
                #expect((operation.requestBody != nil) == (spec.body != nil), "\(label): request body")
                if spec.body != nil {
                    #expect(RequestExamples.decoders[spec.key] != nil, "\(label): takes a body but no test decodes its example")
                }
            }
        }
        // Bodies the routes read, by method: every POST/PUT/PATCH that decodes one is in the catalogue with it.
        for key in RequestExamples.decoders.keys {
            #expect(OperationCatalogue.byKey[key]?.body != nil, "\(key): decoded by the tests but documented without a body")
        }
    }

    @Test("request examples decode with the routes' own request types and pass their checks")
    func requestExamplesDecode() throws {
        let decoder = StrictJSONDecoder()
        for spec in OperationCatalogue.all {
            guard let body = spec.body else { continue }
            let check = try #require(RequestExamples.decoders[spec.key], "\(spec.key): no decoder")
            do {
                try check(decoder, Data(body.example.utf8))
            } catch {
                Issue.record("\(spec.key): its example is refused: \(error)")
            }
        }
    }

    @Test("request and answer examples conform to their own schemas")
    func examplesMatchSchemas() throws {
        let (_, _, json) = try Self.built()
        let check = try OpenAPISchemaCheck(document: json)
        guard case .object(let paths)? = check.document[["paths"]] else {
            Issue.record("no paths")
            return
        }
        var checked = 0
        for (path, item) in paths {
            guard case .object(let operations) = item else { continue }
            for (method, operation) in operations where ["get", "post", "put", "patch", "delete"].contains(method) {
                var contents: [(String, JSONValue)] = []
                if case .object(let media)? = operation[["requestBody", "content"]] {
                    contents += media.map { ("\(method.uppercased()) \(path) request \($0.key)", $0.value) }
                }
                if case .object(let responses)? = operation[["responses"]] {
                    for (status, response) in responses {
                        if case .object(let media)? = response[["content"]] {
                            contents += media.map { ("\(method.uppercased()) \(path) \(status) \($0.key)", $0.value) }
                        }
                    }
                }
                for (label, content) in contents where label.hasSuffix("application/json") {
                    guard let example = content[["example"]], let schema = content[["schema"]] else { continue }
                    let problems = check.problems(example, against: schema)
                    #expect(problems.isEmpty, "\(label): \(problems)")
                    checked += 1
                }
            }
        }
        #expect(checked > 150, "\(checked) examples checked")
    }

    @Test("every component schema referenced exists, and the document says 3.1")
    func referencesResolve() throws {
        let (_, outcome, json) = try Self.built()
        #expect(outcome.document.openAPIVersion.rawValue.hasPrefix("3.1."))
        let text = String(decoding: json, as: UTF8.self)
        let names = Set(ComponentSchemas.all.keys)
        let references = text.matches(of: /"\$ref":"#\/components\/schemas\/([^"]+)"/).map { String($0.1) }
        #expect(!references.isEmpty)
        for name in Set(references) {
            #expect(names.contains(name), "reference to a missing schema \(name)")
        }
    }
}

/// Each documented request body, decoded as its route decodes it (``StrictJSONDecoder``) and
/// checked as its route checks it: a catalogue example the route would refuse fails the tests.
enum RequestExamples {
    typealias Check = @Sendable (StrictJSONDecoder, Data) throws -> Void

    static func key(_ method: HTTPRequest.Method, _ path: String) -> OperationKey { OperationKey(method: method, path: path) }

    static let submit: Check = { decoder, data in
        _ = try decoder.decode(SubmitRequest.self, from: data).validated()
    }
    static let call: Check = { decoder, data in
        _ = try decoder.decode(LLMCallRequest.self, from: data).validated(stream: false)
    }

    static let decoders: [OperationKey: Check] = [
        key(.post, "/api/jobs/create"): submit,
        key(.post, "/api/jobs/estimate"): submit,
        key(.post, "/api/jobs/create-and-call"): submit,
        key(.post, "/api/jobs/create-and-call-stream"): submit,
        key(.post, "/api/jobs/batch"): { decoder, data in
            let batch = try BatchRequest.parse(data)
            #expect(!batch.items.isEmpty)
            for item in batch.items { _ = try decoder.decode(SubmitRequest.self, from: item).validated() }
        },
        key(.post, "/api/jobs/{job_id}/llm-call"): call,
        key(.post, "/api/jobs/{job_id}/llm-call-stream"): call,
        key(.post, "/api/jobs/{job_id}/complete"): { decoder, data in
            _ = try decoder.decode(CompleteRequest.self, from: data).validated()
        },
        key(.patch, "/api/jobs/{job_id}/metadata"): { decoder, data in
            _ = try decoder.decode(MetadataPatch.self, from: data)
        },
        key(.post, "/api/organizations/create"): { decoder, data in
            let body = try decoder.decode(OrganizationController.CreateBody.self, from: data)
            try Validate.identifier(body.organizationID, field: "organization_id")
            try Validate.name(body.name, field: "name")
        },
        key(.post, "/api/teams/create"): { decoder, data in
            let body = try decoder.decode(TeamController.CreateBody.self, from: data)
            try Validate.identifier(body.teamID, field: "team_id")
            _ = try TeamController.billing(
                mode: body.budgetMode,
                tokensPerCredit: body.tokensPerCredit,
                creditsPerDollar: body.creditsPerDollar,
                base: BillingSettings()
            )
        },
        key(.put, "/api/teams/{team_id}/model-groups"): { decoder, data in
            _ = try decoder.decode(TeamController.ModelGroupsBody.self, from: data)
        },
        key(.post, "/api/teams/{team_id}/rotate-key"): { decoder, data in
            let body = try decoder.decode(TeamController.RotateBody.self, from: data)
            try Validate.range(body.graceSeconds ?? 0, 0...86_400, field: "grace_seconds")
        },
        key(.put, "/api/teams/{team_id}/limits"): { decoder, data in
            _ = try decoder.decode(TeamLimitsBody.self, from: data).validated()
        },
        key(.post, "/api/model-groups/create"): { decoder, data in
            _ = try ModelGroupController.entries(decoder.decode(ModelGroupController.CreateBody.self, from: data).models)
        },
        key(.put, "/api/model-groups/{name}/models"): { decoder, data in
            _ = try ModelGroupController.entries(decoder.decode(ModelGroupController.ModelsBody.self, from: data).models)
        },
        key(.post, "/api/providers/create"): { decoder, data in
            let body = try decoder.decode(ProviderController.CreateBody.self, from: data)
            _ = try ProviderController.kind(body.kind)
            try ProviderController.validate(baseURL: body.baseURL, apiKey: body.apiKey, rpm: body.rpm, tpm: body.tpm, timeout: body.timeoutSeconds)
        },
        key(.put, "/api/providers/{name}"): { decoder, data in
            let body = try decoder.decode(ProviderController.UpdateBody.self, from: data)
            try ProviderController.validate(
                baseURL: body.baseURL,
                apiKey: body.apiKey,
                rpm: body.rpm ?? nil,
                tpm: body.tpm ?? nil,
                timeout: body.timeoutSeconds
            )
        },
        key(.post, "/api/credits/teams/{team_id}/add"): { decoder, data in
            let body = try decoder.decode(CreditController.AddBody.self, from: data)
            #expect(body.credits > 0)
        },
        key(.post, "/api/credits/teams/{team_id}/adjust"): { decoder, data in
            let body = try decoder.decode(CreditController.AdjustBody.self, from: data)
            #expect(body.credits != 0)
        },
        key(.patch, "/api/credits/teams/{team_id}/budget-mode"): { decoder, data in
            let body = try decoder.decode(CreditController.BudgetModeBody.self, from: data)
            _ = try TeamController.billing(
                mode: body.budgetMode,
                tokensPerCredit: body.tokensPerCredit,
                creditsPerDollar: body.creditsPerDollar,
                base: BillingSettings()
            )
        },
        key(.put, "/api/teams/{team_id}/webhook"): { decoder, data in
            _ = try WebhookController.events(decoder.decode(WebhookController.PutBody.self, from: data).events)
        },
        key(.put, "/api/admin/workers/{worker_id}/concurrency"): { decoder, data in
            _ = try decoder.decode(FleetController.ConcurrencyBody.self, from: data)
        },
    ]
}
