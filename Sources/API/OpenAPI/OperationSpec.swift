import HTTPTypes
import OpenAPIKit

/// One operation of the catalogue: what the route table cannot know about a route — its summary,
/// who may call it, its parameters, its body and its answers. The document joins these to the
/// routes actually registered (``OpenAPIDocumentBuilder``), keyed by method and path template.
struct OperationSpec: Sendable {
    var method: HTTPRequest.Method
    /// The Hummingbird template, as registered: `/api/jobs/{job_id}`.
    var path: String
    var summary: String
    var description: String?
    var tag: APITag
    var auth: AuthScheme
    var query: [QueryParameter] = []
    var headers: [HeaderParameter] = []
    var body: RequestBodySpec?
    /// The 2xx answers (and the streamed ones).
    var answers: [Answer]
    /// The errors of this route beyond those its auth, body and path parameters already imply
    /// (the builder adds those): status and the `detail` sentences it can carry.
    var errors: [ErrorAnswer] = []

    var key: OperationKey { OperationKey(method: method, path: path) }
}

/// Method + path template: how the catalogue and the route table meet.
struct OperationKey: Hashable, Sendable, CustomStringConvertible {
    var method: HTTPRequest.Method
    var path: String

    var description: String { "\(method.rawValue) \(path)" }
}

/// Who may call an operation, as the auth chain of `App+build.swift` decides it.
enum AuthScheme: Sendable {
    /// `X-Admin-Key`.
    case admin
    /// `Authorization: Bearer <virtual key>`; a suspended team is a 403.
    case team
    /// Either: the team's own key, or the admin key.
    case teamOrAdmin
    /// Open to anyone.
    case none
}

/// The document's tags, in the order the page lists them.
enum APITag: String, CaseIterable, Sendable {
    case operations = "Operations"
    case organizations = "Organizations"
    case teams = "Teams"
    case modelGroups = "Model groups"
    case providers = "Providers"
    case credits = "Credits"
    case webhooks = "Webhooks"
    case jobs = "Jobs"
    case stepByStep = "Step-by-step jobs and single calls"
    case streaming = "Streaming and events"
    case adminJobs = "Admin: jobs, queue and workers"
    case audit = "Audit"

    var summary: String {
        switch self {
        case .operations: "Health, readiness, metrics and this document."
        case .organizations: "Organizations (admin)."
        case .teams: "Teams, their keys, model groups, limits and usage."
        case .modelGroups: "Named sets of models, tried by priority with fallbacks (admin)."
        case .providers: "Upstream endpoints; keys go in encrypted and never come out (admin)."
        case .credits: "Balances, the ledger and billing settings."
        case .webhooks: "A team's webhook endpoint and its delivery log."
        case .jobs: "Submitting, polling, cancelling and erasing jobs; batches and estimates."
        case .stepByStep: "The original system's flows: a job as a container of calls, and single calls."
        case .streaming: "Server-sent events: streamed calls and a job's status changes."
        case .adminJobs: "Any team's jobs, the queue's depth, live workers (admin)."
        case .audit: "Admin actions and aggregated failed authentications (admin)."
        }
    }
}

struct QueryParameter: Sendable {
    var name: String
    var description: String
    var schema: JSONSchema
    var required = false
}

struct HeaderParameter: Sendable {
    var name: String
    var description: String
    var schema: JSONSchema
}

/// A request body: its schema (usually a component's reference) and an example, as JSON text that
/// the tests decode with the route's own request type.
struct RequestBodySpec: Sendable {
    var description: String?
    var schema: JSONSchema
    var example: String
    var required = true
    /// Another media type the route accepts (the multipart submit), with its schema.
    var alternatives: [(mediaType: OpenAPI.ContentType, schema: JSONSchema)] = []
}

/// A successful answer.
struct Answer: Sendable {
    var status: Int
    var description: String
    var schema: JSONSchema
    /// JSON text (or the stream's text for `text/event-stream`).
    var example: String?
    var mediaType: OpenAPI.ContentType = .json
    var headers: [String: String] = [:]
}

/// An error answer: `{"detail": …}` with one of these sentences.
struct ErrorAnswer: Sendable {
    var status: Int
    var details: [String]

    init(_ status: Int, _ details: String...) {
        self.status = status
        self.details = details
    }
}
