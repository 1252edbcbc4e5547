import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import Shared
import Testing

@testable import API

/// `/openapi.json` and `/docs` as served, and the document held against the running routes: each
/// secured operation refuses a request without a key with 401, and the real answers of the main
/// resources — made in-process — conform to their documented schemas.
@Suite("OpenAPI document: served, and true to the running routes")
struct OpenAPIServingTests {
    @Test("GET /openapi.json answers the document, OpenAPI 3.1.x, as JSON")
    func servesDocument() async throws {
        try await Caller.run { api in
            let response = try await api.send(.get, "/openapi.json")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            let version = try #require(response.string("openapi"))
            #expect(version.hasPrefix("3.1."), "openapi: \(version)")
            #expect((response.json?["paths"] as? [String: Any])?["/api/jobs/create"] != nil)
            // The same bytes every time: built once.
            let again = try await api.send(.get, "/openapi.json")
            #expect(again.body == response.body)
        }
    }

    @Test("GET /docs is a page of this origin: HTML with its own script and stylesheet, nothing external")
    func servesDocsPage() async throws {
        try await Caller.run { api in
            let page = try await api.send(.get, "/docs")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            let html = String(buffer: page.body)
            #expect(html.contains("/openapi.json"), "the page names the document (and links it without JavaScript)")
            #expect(html.contains("<noscript>"))
            for external in html.matches(of: /(src|href)\s*=\s*"(https?:)?\/\/[^"]*"/) {
                Issue.record("external reference: \(external.0)")
            }
            #expect(!html.contains("http://") && !html.contains("https://"))
            for (file, type) in [("docs.js", "text/javascript"), ("docs.css", "text/css")] {
                let asset = try await api.send(.get, "/docs/\(file)")
                #expect(asset.status == .ok, "/docs/\(file)")
                #expect(asset.headers[.contentType]?.hasPrefix(type) == true)
                let text = String(buffer: asset.body)
                #expect(!text.contains("http://") && !text.contains("https://"), "/docs/\(file) loads nothing from elsewhere")
            }
            #expect(try await api.send(.get, "/docs/nothing.js").status == .notFound)
        }
    }

    @Test("every operation the document secures answers 401 without a key; the open ones do not")
    func securityMatchesRoutes() async throws {
        let (_, _, json) = try OpenAPIDocumentTests.built()
        let check = try OpenAPISchemaCheck(document: json)
        guard case .object(let paths)? = check.document[["paths"]] else {
            Issue.record("no paths")
            return
        }
        try await Caller.run { api in
            var secured = 0
            for (path, item) in paths {
                guard case .object(let operations) = item else { continue }
                let uri = path.replacing(/\{job_id\}|\{call_id\}/, with: UUID().uuidString.lowercased()).replacing(/\{[^}]+\}/, with: "x")
                for (method, operation) in operations {
                    guard let verb = HTTPRequest.Method(method.uppercased()), OpenAPIDocumentTests.methods.contains(verb) else { continue }
                    // Streams stay open; their auth is the same chain as their routes' twins.
                    if path.hasSuffix("/stream") || path.hasSuffix("-stream") || path.hasSuffix("/events") { continue }
                    let hasSecurity: Bool
                    if case .array(let requirements)? = operation[["security"]] { hasSecurity = !requirements.isEmpty } else { hasSecurity = false }
                    let response = try await api.send(verb, uri, body: verb == .get || verb == .delete ? nil : "{}")
                    if hasSecurity {
                        secured += 1
                        #expect(response.status == .unauthorized, "\(method) \(path) without a key: \(response.status)")
                    } else {
                        #expect(response.status != .unauthorized, "\(method) \(path) is documented open but answers 401")
                    }
                }
            }
            #expect(secured > 55)
        }
    }

    @Test("real answers of the main resources conform to the document's schemas")
    func realAnswersConform() async throws {
        let (_, _, json) = try OpenAPIDocumentTests.built()
        let check = try OpenAPISchemaCheck(document: json)
        try await Caller.run { api in
            @Sendable func conforms(_ response: TestResponse, _ method: String, _ template: String, _ status: Int = 200) throws {
                #expect(Int(response.status.code) == status, "\(method) \(template): \(response.status) \(String(buffer: response.body).prefix(300))")
                guard Int(response.status.code) == status else { return }
                let schema = try #require(
                    check.answerSchema(path: template, method: method, status: status),
                    "\(method) \(template) \(status): not documented"
                )
                let value = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body))
                let problems = check.problems(value, against: schema)
                #expect(problems.isEmpty, "\(method) \(template) \(status): \(problems)")
            }
            let org = Fixture.id("org")
            try conforms(
                try await api.admin(.post, "/api/organizations/create", #"{"organization_id": "\#(org)", "name": "Org"}"#),
                "post",
                "/api/organizations/create"
            )
            try conforms(try await api.admin(.get, "/api/organizations/\(org)"), "get", "/api/organizations/{org_id}")
            try conforms(try await api.admin(.get, "/api/organizations?limit=2"), "get", "/api/organizations")
            let provider = try await api.createProvider()
            try conforms(try await api.admin(.get, "/api/providers/\(provider)"), "get", "/api/providers/{name}")
            try conforms(try await api.admin(.get, "/api/providers"), "get", "/api/providers")
            let group = try await api.createModelGroup(provider: provider)
            try conforms(try await api.admin(.get, "/api/model-groups/\(group)"), "get", "/api/model-groups/{name}")
            let teamID = Fixture.id("team")
            let created = try await api.admin(
                .post,
                "/api/teams/create",
                #"{"organization_id": "\#(org)", "team_id": "\#(teamID)", "model_groups": ["\#(group)"], "credits_allocated": 100}"#
            )
            try conforms(created, "post", "/api/teams/create")
            let key = try #require(created.string("virtual_key"))
            try conforms(try await api.admin(.get, "/api/teams/\(teamID)"), "get", "/api/teams/{team_id}")
            try conforms(try await api.admin(.get, "/api/organizations/\(org)/teams"), "get", "/api/organizations/{org_id}/teams")
            try conforms(
                try await api.admin(.put, "/api/teams/\(teamID)/limits", #"{"max_queued_jobs": 1000, "retention_days": null}"#),
                "put",
                "/api/teams/{team_id}/limits"
            )
            try conforms(
                try await api.admin(.post, "/api/credits/teams/\(teamID)/add", #"{"credits": 50, "reason": "top-up"}"#),
                "post",
                "/api/credits/teams/{team_id}/add"
            )
            try conforms(try await api.team(key, .get, "/api/me"), "get", "/api/me")
            try conforms(try await api.team(key, .get, "/api/credits/teams/\(teamID)/balance"), "get", "/api/credits/teams/{team_id}/balance")
            try conforms(
                try await api.team(key, .get, "/api/credits/teams/\(teamID)/transactions"),
                "get",
                "/api/credits/teams/{team_id}/transactions"
            )
            try conforms(
                try await api.team(key, .get, "/api/teams/\(teamID)/usage?period=\(Fixture.currentMonth)"),
                "get",
                "/api/teams/{team_id}/usage"
            )

            let submit = Examples.submit.replacingOccurrences(of: "acme-research", with: teamID).replacingOccurrences(of: "gpt-fast", with: group)
            try conforms(try await api.team(key, .post, "/api/jobs/estimate", submit), "post", "/api/jobs/estimate")
            let job = try await api.team(key, .post, "/api/jobs/create", submit)
            try conforms(job, "post", "/api/jobs/create", 202)
            let jobID = try #require(job.string("job_id"))
            try conforms(try await api.team(key, .get, "/api/jobs/\(jobID)"), "get", "/api/jobs/{job_id}")
            try conforms(try await api.team(key, .get, "/api/jobs/\(jobID)/calls"), "get", "/api/jobs/{job_id}/calls")
            try conforms(try await api.team(key, .get, "/api/teams/\(teamID)/jobs"), "get", "/api/teams/{team_id}/jobs")
            try conforms(try await api.admin(.get, "/api/admin/jobs/\(jobID)"), "get", "/api/admin/jobs/{job_id}")
            try conforms(try await api.admin(.get, "/api/admin/jobs?limit=5"), "get", "/api/admin/jobs")
            try conforms(try await api.team(key, .post, "/api/jobs/\(jobID)/cancel"), "post", "/api/jobs/{job_id}/cancel")
            try conforms(try await api.team(key, .get, "/api/jobs/\(jobID)"), "get", "/api/jobs/{job_id}")
            let batch = #"{"jobs": [\#(submit), {"team_id": "\#(teamID)", "job_type": ""}]}"#
            try conforms(try await api.team(key, .post, "/api/jobs/batch", batch), "post", "/api/jobs/batch", 202)

            // A step-by-step container: created without work, its costs, metadata and completion.
            let container = try await api.team(key, .post, "/api/jobs/create", #"{"team_id": "\#(teamID)", "job_type": "steps"}"#)
            try conforms(container, "post", "/api/jobs/create", 200)
            let containerID = try #require(container.string("job_id"))
            try conforms(try await api.team(key, .get, "/api/jobs/\(containerID)/costs"), "get", "/api/jobs/{job_id}/costs")
            try conforms(
                try await api.team(key, .patch, "/api/jobs/\(containerID)/metadata", #"{"metadata": {"k": 1}}"#),
                "patch",
                "/api/jobs/{job_id}/metadata"
            )
            try conforms(
                try await api.team(key, .post, "/api/jobs/\(containerID)/complete", #"{"status": "failed", "error_message": "gave up"}"#),
                "post",
                "/api/jobs/{job_id}/complete"
            )

            try conforms(
                try await api.team(key, .put, "/api/teams/\(teamID)/webhook", #"{"url": "http://127.0.0.1:9/hook", "events": ["job.completed"]}"#),
                "put",
                "/api/teams/{team_id}/webhook"
            )
            try conforms(try await api.team(key, .get, "/api/teams/\(teamID)/webhook"), "get", "/api/teams/{team_id}/webhook")
            try conforms(
                try await api.team(key, .get, "/api/teams/\(teamID)/webhook/deliveries"),
                "get",
                "/api/teams/{team_id}/webhook/deliveries"
            )
            try conforms(try await api.admin(.get, "/api/admin/queue"), "get", "/api/admin/queue")
            try conforms(try await api.admin(.get, "/api/admin/workers"), "get", "/api/admin/workers")
            try conforms(try await api.admin(.get, "/api/admin/audit?limit=5"), "get", "/api/admin/audit")
            try conforms(try await api.send(.get, "/health"), "get", "/health")

            // Errors are the Error schema, whichever route answers them.
            try conforms(try await api.team(key, .get, "/api/jobs/\(UUID().uuidString)"), "get", "/api/jobs/{job_id}", 404)
            try conforms(try await api.admin(.post, "/api/teams/create", "{"), "post", "/api/teams/create", 400)
            try conforms(try await api.send(.get, "/api/me"), "get", "/api/me", 401)
        }
    }
}
