import Foundation
import Hummingbird
import Shared

/// Every refusal the API answers with — its status and its `detail` sentence — in one place.
/// API.md's strings are tested as written, so a sentence is changed here or nowhere; handlers,
/// validators and middleware throw these by name (`throw .jobNotFound`), and nothing outside
/// `Errors/` spells a `detail`. (The one sentence written elsewhere is a document plan's refusal:
/// the worker stores the same sentence as a job's error, so it lives with ``DocumentPlan``.)
extension APIError {
    /// The sentence of each case; the cases that carry one were built below.
    public var detail: String {
        switch self {
        case .badRequest(let detail), .unauthorized(let detail), .forbidden(let detail), .notFound(let detail),
            .conflict(let detail), .unprocessable(let detail), .serviceUnavailable(let detail), .badGateway(let detail),
            .overloaded(let detail, _), .tooManyRequests(let detail, _), .unsupportedMediaType(let detail),
            .paymentRequired(let detail):
            return detail
        case .methodNotAllowed: return "Method not allowed"
        case .payloadTooLarge(let limit): return "Request body is larger than the limit of \(limit) bytes"
        case .insufficientCredits(let remaining, let needed):
            return "Insufficient credits: \(remaining) remaining, \(needed) needed"
        case .internalError: return "Internal server error"
        }
    }

    // MARK: - Authentication and tenancy (API.md, Authentication)

    static let missingAdminKey = APIError.unauthorized("Missing X-Admin-Key header. Admin authentication required.")
    static let invalidAdminKey = APIError.unauthorized("Invalid admin API key")
    static let missingTeamKey = APIError.unauthorized("Missing Authorization header. Expected: 'Authorization: Bearer sk-...'")
    static let invalidAPIKey = APIError.unauthorized("Invalid API key")
    static let teamSuspended = APIError.forbidden("Team access is suspended. Please contact support.")

    /// What a team key reaches only for its own team.
    enum TeamResource: Sendable {
        case jobs, creditBalance, creditTransactions, usage, webhook
    }

    /// A team key asking for another team's resource.
    static func foreignTeam(_ resource: TeamResource) -> APIError {
        switch resource {
        case .jobs: return .forbidden("Cannot access jobs for a different team")
        case .creditBalance: return .forbidden("Cannot access credit balance for a different team")
        case .creditTransactions: return .forbidden("Cannot access credit transactions for a different team")
        case .usage: return .forbidden("Cannot access usage data for a different team")
        case .webhook: return .forbidden("Cannot access webhook for a different team")
        }
    }

    /// A body's `team_id` that is not the key's team.
    static func keyNotForTeam(_ teamID: String) -> APIError { .forbidden("API key does not belong to team '\(teamID)'") }
    static func noModelGroupAccess(_ group: String) -> APIError { .forbidden("Team does not have access to model group '\(group)'") }

    // MARK: - Not found

    /// A path no route answers.
    static let pathNotFound = APIError.notFound("Not found")
    static func organizationNotFound(_ id: some StringProtocol) -> APIError { .notFound("Organization '\(id)' not found") }
    static func teamNotFound(_ id: some StringProtocol) -> APIError { .notFound("Team '\(id)' not found") }
    static func modelGroupNotFound(_ name: some StringProtocol) -> APIError { .notFound("Model group '\(name)' not found") }
    static func providerNotFound(_ name: some StringProtocol) -> APIError { .notFound("Provider '\(name)' not found") }
    static func workerNotFound(_ id: some StringProtocol) -> APIError { .notFound("Worker '\(id)' not found") }
    static let jobNotFound = APIError.notFound("Job not found")
    static let callNotFound = APIError.notFound("Call not found")
    /// `GET /metrics` of a process started with `METRICS_ENABLED=false`.
    static let metricsDisabled = APIError.notFound("Metrics are disabled (METRICS_ENABLED=false)")

    // MARK: - Conflicts

    static func organizationExists(_ id: String) -> APIError { .conflict("Organization with ID '\(id)' already exists") }
    static func teamExists(_ id: String) -> APIError { .conflict("Team '\(id)' already exists") }
    static func modelGroupExists(_ name: String) -> APIError { .conflict("Model group '\(name)' already exists") }
    static func modelGroupAssigned(_ name: String) -> APIError { .conflict("Model group '\(name)' is assigned to teams") }
    static func modelGroupHasLiveJobs(_ name: String) -> APIError { .conflict("Model group '\(name)' has live jobs") }
    static func providerExists(_ name: String) -> APIError { .conflict("Provider '\(name)' already exists") }
    static func providerInUse(_ name: String) -> APIError { .conflict("Provider '\(name)' is used by model groups") }
    /// A concurrency change for a worker that is draining: it claims nothing more and exits.
    static func workerDraining(_ id: some StringProtocol) -> APIError { .conflict("Worker '\(id)' is draining") }
    static func balanceWouldGoNegative(remaining: Int, change: Int) -> APIError {
        .conflict("Adjustment of \(change) credits would take the balance below zero (\(remaining) remaining)")
    }
    static let balanceLimitExceeded = APIError.unprocessable("The balance would exceed the maximum of \(CreditLimits.maximumBalance) credits")
    static let idempotencyKeyReused = APIError.conflict("Idempotency-Key reused with a different request")
    static func jobAlreadyTerminal(_ status: JobStatus) -> APIError { .conflict("Job is already \(status.rawValue)") }
    static func jobNotFinished(_ status: JobStatus) -> APIError {
        .conflict("Job is \(status.rawValue); only a finished job's contents can be erased")
    }
    static let jobContentErased = APIError.conflict("Job contents were erased")
    static let jobHasNoDocument = APIError.notFound("Job has no uploaded document")
    static let documentNotExtracted = APIError.conflict("Document text is not extracted yet")
    static let documentNotExtractable = APIError.notFound("Document text was not extracted")
    static let documentErased = APIError.notFound("Job contents were erased")
    static func jobNotRetryable(_ status: JobStatus) -> APIError {
        .conflict("Only failed jobs can be retried; this job is \(status.rawValue)")
    }

    // MARK: - Step-by-step jobs and single calls

    /// The original system's sentence for a foreign job on its step-by-step routes (API.md).
    static let jobOfAnotherTeam = APIError.forbidden("Job does not belong to your team")
    static let notStepByStepJob = APIError.conflict(
        "Job was submitted with its work; llm-call and complete apply to jobs created without a model"
    )
    static let callsInFlight = APIError.conflict("Job has calls in flight")
    static let stepByStepNotRetryable = APIError.conflict(
        "A step-by-step job and its calls settle through complete and cannot be retried; make the call again with llm-call"
    )
    /// A call that ended without an answer: its error code (`upstream_error`, `expired`, …).
    static func llmCallFailed(_ category: String) -> APIError { .badGateway("LLM call failed: \(category)") }
    static func callLimitReached(_ limit: Int) -> APIError { .conflict("Job has reached its limit of \(limit) calls") }
    static let callOutcomeUnknown = APIError.serviceUnavailable(
        "The outcome of the call is unknown; read the job's calls (GET /api/jobs/{job_id}) before retrying, since a retry may queue the call twice"
    )
    /// `GET /api/jobs/{job_id}/stream` of a step-by-step job: its calls have the streams.
    static let notStepByStepJobStream = APIError.conflict(
        "Job was created without work; read its calls' streams at /api/jobs/{job_id}/calls/{call_id}/stream"
    )
    static let metadataTwice = APIError.unprocessable("Field 'job_metadata' is another name for 'metadata': send one of them")
    static let completeStatusInvalid = APIError.unprocessable("Field 'status' must be one of completed, failed")
    static let createAndCallNeedsMessages = APIError.unprocessable(
        "Field 'messages' is required: create-and-call runs one chat call (submit a document with POST /api/jobs/create)"
    )

    // MARK: - Bodies: what the strict decoder refuses before and while decoding

    /// The body's bytes stopped before its `Content-Length` (or its last chunk): the client
    /// went away or broke off. Nobody reads this answer; it is the status counted and logged,
    /// a client's failure, never a 5xx that pages someone.
    static let bodyBrokenOff = APIError.badRequest("Request body ended before it was complete")
    /// Bytes that are not HTTP/1.1 where a body or its chunks should be.
    static let malformedHTTP = APIError.badRequest("Request is not well-formed HTTP")
    static let bodyNotUTF8 = APIError.badRequest("Request body is not valid UTF-8")
    static let bodyNotJSON = APIError.badRequest("Request body is not valid JSON")
    static let bodyNotObject = APIError.unprocessable("Request body must be a JSON object")
    static let bodyInvalid = APIError.unprocessable("Request body is invalid")

    /// U+0000 or a lone surrogate (``UnstorableText``); `field` is `""` for the body itself.
    static func unstorableText(field: String) -> APIError {
        field.isEmpty
            ? .unprocessable("Request body must not contain U+0000 or unpaired surrogates")
            : .unprocessable("Field '\(field)' must not contain U+0000 or unpaired surrogates")
    }

    static func fieldRequired(_ field: String) -> APIError { .unprocessable("Field '\(field)' is required") }
    static func fieldNull(_ field: String) -> APIError { .unprocessable("Field '\(field)' must not be null") }
    static func fieldNotInteger(_ field: String) -> APIError { .unprocessable("Field '\(field)' must be an integer") }
    /// A value of the wrong JSON type: `must be an integer`, `a string`, `an array`…
    static func fieldType(_ field: String, _ type: Any.Type) -> APIError {
        let expected: String
        switch type {
        case is Int.Type, is Int64.Type, is Int32.Type: expected = "an integer"
        case is Double.Type, is Decimal.Type, is Float.Type: expected = "a number"
        case is String.Type: expected = "a string"
        case is Bool.Type: expected = "a boolean"
        case is [Any].Type: expected = "an array"
        default:
            let name = String(describing: type)
            expected = name.hasPrefix("Array") ? "an array" : name.hasPrefix("Dictionary") ? "an object" : "of type \(name)"
        }
        return .unprocessable("Field '\(field)' must be \(expected)")
    }
    /// A value Foundation refused for a field (the decoder's own words follow).
    static func fieldInvalid(_ field: String, _ reason: String) -> APIError { .unprocessable("Field '\(field)' is invalid: \(reason)") }

    // MARK: - Fields (`Validate` and the controllers' own rules)

    static func invalidIdentifier(_ field: String) -> APIError {
        .unprocessable("Field '\(field)' must be 1-64 characters of letters, digits, '-', '_' or '.'")
    }
    static func lengthNotBetweenOneAnd(_ max: Int, field: String) -> APIError { .unprocessable("Field '\(field)' must be 1-\(max) characters") }
    static func longerThan(_ max: Int, field: String) -> APIError { .unprocessable("Field '\(field)' must be at most \(max) characters") }
    static func metadataTooLarge(_ field: String) -> APIError { .unprocessable("Field '\(field)' must be at most 16 KiB of JSON") }
    static func notBetween(_ lower: Int, _ upper: Int, field: String) -> APIError {
        .unprocessable("Field '\(field)' must be between \(lower) and \(upper)")
    }

    static let creditsAllocatedOutOfRange = APIError.unprocessable(
        "Field 'credits_allocated' must be an integer from 0 to \(CreditLimits.maximumChange)"
    )
    static let budgetModeUnknown = APIError.unprocessable("Field 'budget_mode' must be one of job_based, consumption_tokens, consumption_usd")
    static let tokensPerCreditOutOfRange = APIError.unprocessable("Field 'tokens_per_credit' must be an integer from 1 to 1000000000")
    static let creditsPerDollarOutOfRange = APIError.unprocessable("Field 'credits_per_dollar' must be a number from 0.000001 to 1000000")

    static let creditsNotPositive = APIError.unprocessable("Field 'credits' must be a positive integer")
    static let creditsAboveMaximum = APIError.unprocessable("Field 'credits' must be at most \(CreditLimits.maximumChange)")
    static let creditsZero = APIError.unprocessable("Field 'credits' must be a non-zero integer")

    static let noModels = APIError.unprocessable("Field 'models' must hold at least one model")
    static let tooManyModels = APIError.unprocessable("Field 'models' must hold at most 50 models")

    static let providerKindUnknown = APIError.unprocessable("Field 'kind' must be 'openai' or 'anthropic'")
    static let baseURLInvalid = APIError.unprocessable("Field 'base_url' must be an http(s) URL")
    static let apiKeyLength = APIError.unprocessable("Field 'api_key' must be 1-1000 characters")
    static let apiKeyNotVisibleASCII = APIError.unprocessable("Field 'api_key' must be printable ASCII without spaces or line breaks")

    // MARK: - Submitting a job

    static let modelMissing = APIError.unprocessable("Field 'model' is required with 'messages' or 'document'")
    static let workMissing = APIError.unprocessable("Field 'messages' or 'document' is required with 'model'")
    static let messagesAndDocument = APIError.unprocessable("Provide either 'messages' or 'document', not both")
    static let documentEmpty = APIError.unprocessable("Field 'document' must not be empty")
    static func notWithFile(_ field: String) -> APIError { .unprocessable("Field '\(field)' cannot be sent with a file") }
    static let modelMissingForFile = APIError.unprocessable("Field 'model' is required with a file")
    static let documentTooLarge = APIError.unprocessable("Field 'document' must be at most 2 MiB of UTF-8 text")
    static let instructionsTooLarge = APIError.unprocessable("Field 'instructions' must be at most 100000 bytes")
    static let noMessages = APIError.unprocessable("Field 'messages' must hold at least one message")
    static let tooManyMessages = APIError.unprocessable("Field 'messages' must hold at most 10000 messages")
    static func messageNotObject(_ index: Int) -> APIError { .unprocessable("Field 'messages[\(index)]' must be an object") }
    static func messageRole(_ index: Int) -> APIError {
        .unprocessable("Field 'messages[\(index)].role' must be one of system, developer, user, assistant, tool")
    }
    static func messageContent(_ index: Int) -> APIError {
        .unprocessable("Field 'messages[\(index)].content' must be a string or an array of parts")
    }
    /// No model of the group can take the document: the first model's reason (``DocumentPlan``).
    static func documentRefused(_ sentence: String) -> APIError { .unprocessable(sentence) }
    /// A `response_format` the worker could not hold an answer to (``ResponseFormatRules``).
    static func responseFormatInvalid(_ problem: ResponseFormatProblem) -> APIError {
        let requirement: String
        switch problem.requirement {
        case .present: return .fieldRequired(problem.field)
        case .object: requirement = "must be an object"
        case .formatType: requirement = "must be one of text, json_object, json_schema"
        case .name: requirement = "must be 1-64 characters of letters, digits, '_' or '-'"
        case .boolean: requirement = "must be a boolean"
        case .schema: requirement = "must be a schema (an object or a boolean)"
        case .schemaList: requirement = "must be a non-empty array of schemas"
        case .schemaMap: requirement = "must be an object of schemas"
        case .typeNames: requirement = "must be one of string, number, integer, boolean, object, array, null, or an array of them"
        case .stringList: requirement = "must be an array of strings"
        case .nonEmptyArray: requirement = "must be a non-empty array"
        case .number: requirement = "must be a number"
        case .positiveNumber: requirement = "must be a positive number"
        case .numberOrBoolean: requirement = "must be a number or a boolean"
        case .count: requirement = "must be a non-negative integer"
        case .pattern(let maxCharacters): requirement = "must be a valid regular expression of at most \(maxCharacters) characters"
        case .reference: requirement = "must refer to a schema inside this one ('#' or '#/$defs/...')"
        case .referenceLoop: requirement = "must not lead back to the same schema without entering a property or an item"
        case .maxNesting(let levels): requirement = "must nest at most \(levels) levels"
        case .maxKiB(let kib): requirement = "must be at most \(kib) KiB of JSON"
        }
        return .unprocessable("Field '\(problem.field)' \(requirement)")
    }

    // MARK: - Uploading a document (multipart/form-data on POST /api/jobs/create, ``UploadReader``)

    static let multipartContentTypeInvalid = APIError.badRequest(
        "Header 'Content-Type' must be multipart/form-data with a boundary of 1-70 characters"
    )
    static let multipartMalformed = APIError.badRequest("Request body is not valid multipart/form-data")
    static let multipartTruncated = APIError.badRequest("Request body ended in the middle of a part")
    static func multipartHeadersTooLarge(limit: Int) -> APIError {
        .badRequest("A part's headers must be at most \(limit) bytes")
    }
    static let partWithoutName = APIError.unprocessable("Every part must have a Content-Disposition header with a name ('job' or 'file')")
    /// `name` is the client's, made safe to show (``ContentDisposition/sanitised(_:maxBytes:lastComponent:)``).
    static func unknownPart(_ name: String) -> APIError {
        .unprocessable("Unknown field '\(name)': a multipart submit has the fields 'job' and 'file'")
    }
    static func partTwice(_ name: String) -> APIError { .unprocessable("Field '\(name)' must be sent once") }
    static let fileEmpty = APIError.unprocessable("Field 'file' must not be empty")
    static let unsupportedDocumentType = APIError.unsupportedMediaType("Unsupported document type")

    // MARK: - Batches (POST /api/jobs/batch)

    static let batchEmpty = APIError.unprocessable("Field 'jobs' must hold at least one job")
    static func batchTooLarge(_ max: Int) -> APIError { .unprocessable("Field 'jobs' must hold at most \(max) jobs") }
    static let batchNotJSON = APIError.unsupportedMediaType(
        "A batch is a JSON body; submit a document file alone, as multipart/form-data to POST /api/jobs/create"
    )
    static let estimateNotJSON = APIError.unsupportedMediaType("An estimate takes a submit body as JSON, not multipart/form-data")
    /// `all_or_nothing`: the whole batch answers with its first refused item's status, the
    /// sentence naming the item.
    static func batchItemRefused(_ index: Int, _ error: APIError) -> APIError {
        let detail = "Item jobs[\(index)] was refused, so nothing was submitted: \(error.detail)"
        switch error {
        case .badRequest: return .badRequest(detail)
        case .unauthorized: return .unauthorized(detail)
        case .forbidden: return .forbidden(detail)
        case .notFound: return .notFound(detail)
        case .conflict: return .conflict(detail)
        case .unprocessable: return .unprocessable(detail)
        case .insufficientCredits, .paymentRequired: return .paymentRequired(detail)
        case .unsupportedMediaType: return .unsupportedMediaType(detail)
        default: return error
        }
    }

    // MARK: - Query parameters and headers

    static let limitInvalid = APIError.unprocessable("Query parameter 'limit' must be a positive integer")
    static let cursorInvalid = APIError.unprocessable("Query parameter 'cursor' is invalid")
    static let statusUnknown = APIError.unprocessable(
        "Query parameter 'status' must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))"
    )
    static let waitInvalid = APIError.unprocessable("Query parameter 'wait' must be a number of seconds")
    static let periodMissing = APIError.unprocessable("Query parameter 'period' is required (YYYY-MM or YYYY-MM-DD)")
    static let periodInvalid = APIError.unprocessable("Query parameter 'period' must be YYYY-MM or YYYY-MM-DD")
    static let idempotencyKeyInvalid = APIError.unprocessable("Header 'Idempotency-Key' must be 1-255 printable ASCII characters")

    // MARK: - Unknown outcomes (a COMMIT whose answer was lost; ``UnknownOutcome``)

    static let outcomeUnknownRetryWithKey = APIError.serviceUnavailable(
        "The outcome of the request is unknown; retry with the same Idempotency-Key"
    )
    static let creditsOutcomeUnknown = APIError.serviceUnavailable(
        "The outcome of the request is unknown; check the team's transactions before retrying, since a retry without an Idempotency-Key may apply the change twice"
    )
    static let submitOutcomeUnknown = APIError.serviceUnavailable(
        "The outcome of the request is unknown; check the team's jobs before retrying, since a retry without an Idempotency-Key may create the job twice"
    )

    // MARK: - Bounds of this process and of the stores behind it

    static let submitQueueFull = APIError.overloaded("Too many submissions are waiting; retry after 1 second", retryAfter: 1)
    static let databaseBusy = APIError.overloaded("The database is busy; retry after 1 second", retryAfter: 1)
    static let teamLongPollsFull = APIError.tooManyRequests("Too many long polls of this team are waiting; retry after 1 second", retryAfter: 1)
    static let longPollsFull = APIError.tooManyRequests("Too many long polls are waiting; retry after 1 second", retryAfter: 1)
    static func teamStreamsFull(limit: Int) -> APIError {
        .tooManyRequests("Too many open streams for this team (limit \(limit))", retryAfter: 1)
    }
    static let streamsFull = APIError.tooManyRequests("Too many streams are open; retry after 1 second", retryAfter: 1)
    /// Every place of `BATCH_CONCURRENCY` is taken (``BatchGate``).
    static let batchesBusy = APIError.overloaded("Too many batches are being submitted; retry after 1 second", retryAfter: 1)
    /// Every webhook address lookup place is taken, or the lookup took too long
    /// (``AddressLookupGate``).
    static let addressLookupsBusy = APIError.overloaded("Address lookups are busy; retry shortly", retryAfter: 5)
    static let databaseUnavailable = APIError.serviceUnavailable("The database is not available; retry later")
    static let queueUnavailable = APIError.serviceUnavailable("The queue is not available; retry later")
    /// The nets under the body checks: what PostgreSQL itself refused to store.
    static let textWithNUL = APIError.unprocessable("Text fields must not contain NUL characters (\\u0000)")
    static let valueNotStorable = APIError.unprocessable("A value in the request cannot be stored")

    // MARK: - Per-team limits (API.md "Batches, estimates, limits, retention")

    /// A submit over one of the team's limits (`submits_per_second`, `max_queued_jobs`).
    static func submitLimitExceeded(_ limit: String, retryAfter: Int) -> APIError {
        .tooManyRequests("Rate limit exceeded: \(limit)", retryAfter: max(1, retryAfter))
    }
    static let submitsPerSecondOutOfRange = APIError.unprocessable("Field 'submits_per_second' must be a number from 0.001 to 100000")
    static let lowBalanceThresholdOutOfRange = APIError.unprocessable(
        "Field 'low_balance_threshold' must be an integer from 0 to \(TeamLimits.lowBalanceThresholdRange.upperBound)"
    )

    // MARK: - Webhooks (API.md "Webhooks")

    static let webhookNotConfigured = APIError.notFound("Webhook not configured")
    static let webhookEventsEmpty = APIError.unprocessable("Field 'events' must hold at least one event")
    static let webhookEventUnknown = APIError.unprocessable(
        "Field 'events' must hold only \(WebhookEvent.allCases.map(\.rawValue).joined(separator: ", "))"
    )
    static func webhookEventRepeated(_ event: String) -> APIError {
        .unprocessable("Field 'events' must not name '\(event)' twice")
    }
    /// A URL the SSRF rules refuse (``WebhookTargetPolicy``). The addresses a name resolved to
    /// are not told: they are the service's view of DNS, not the client's.
    static func webhookURLRefused(_ refusal: WebhookTargetRefusal) -> APIError {
        switch refusal {
        case .invalidURL(let reason): return .unprocessable("Field 'url' must be an absolute http(s) URL: \(reason)")
        case .notHTTPS: return .unprocessable("Field 'url' must use https (http is allowed only to a loopback host outside production)")
        case .privateAddress:
            return .unprocessable("Field 'url' must reach only public addresses; its host is or resolves to a private, loopback or link-local one")
        case .unresolvable: return .unprocessable("Field 'url' has a host that does not resolve")
        }
    }

    // MARK: - The admin dashboard (`/admin`, HTML pages; these sentences are shown on them)

    /// A dashboard form posted without its session's CSRF token, or with another one.
    static let dashboardFormTokenRefused = APIError.forbidden(
        "This form's security token is missing or out of date: nothing was changed. Reload the page and try again."
    )
    /// A dashboard form field that must be a whole number ("Credits", "Concurrency").
    static func dashboardNotAWholeNumber(_ label: String) -> APIError { .unprocessable("\(label) must be a whole number") }

    /// Hummingbird's own errors (unknown path, oversized body…) keep their status and sentence.
    init(_ error: HTTPError) {
        switch error.status {
        case .notFound: self = .pathNotFound
        case .methodNotAllowed: self = .methodNotAllowed
        case .contentTooLarge: self = .payloadTooLarge(limit: BodyLimit.default)
        case .badRequest: self = .badRequest(error.body ?? "Bad request")
        case .unauthorized: self = .unauthorized(error.body ?? "Unauthorized")
        case .forbidden: self = .forbidden(error.body ?? "Forbidden")
        case .serviceUnavailable: self = .serviceUnavailable(error.body ?? "Service unavailable")
        default: self = error.status.code >= 500 ? .internalError : .badRequest(error.body ?? error.status.reasonPhrase)
        }
    }
}

/// `/ready`'s `detail` when a store does not answer (a 503 whose body also names each store).
enum ReadinessDetail {
    static let postgresUnreachable = "PostgreSQL is not reachable"
    static let redisUnreachable = "Redis is not reachable"
}
