import Foundation
import Shared

/// The body of `POST /api/jobs/create`: up to 3 MiB (documents up to 2 MiB plus their envelope).
struct SubmitRequest: LimitedRequestBody, Sendable {
    static let bodyLimit = BodyLimit.jobSubmission

    var teamID: String
    var jobType: String
    var userID: String?
    var metadata: JSONObject?
    var model: String?
    var messages: [JSONValue]?
    var document: String?
    var instructions: String?
    var temperature: Double?
    var maxTokens: Int?
    var responseFormat: JSONValue?
    var tools: JSONValue?
    var toolChoice: JSONValue?
    var stop: JSONValue?
    var topP: Double?
    var priority: Int?
    var allowPartial: Bool?
    var expiresInSeconds: Int?
    var frequencyPenalty: Double?
    var presencePenalty: Double?
    /// The original system's `create-and-call` fields: a label for the call, and the job's
    /// metadata under its old name.
    var purpose: String?
    var jobMetadata: JSONObject?
    /// `false` opts the job out of the team's webhook (absent is `true`).
    var webhook: Bool?

    enum CodingKeys: String, CodingKey {
        case teamID = "team_id"
        case jobType = "job_type"
        case userID = "user_id"
        case metadata, model, messages, document
        case instructions, temperature
        case maxTokens = "max_tokens"
        case responseFormat = "response_format"
        case tools
        case toolChoice = "tool_choice"
        case stop
        case topP = "top_p"
        case priority
        case allowPartial = "allow_partial"
        case expiresInSeconds = "expires_in_seconds"
        case frequencyPenalty = "frequency_penalty"
        case presencePenalty = "presence_penalty"
        case purpose
        case jobMetadata = "job_metadata"
        case webhook
    }

    /// `metadata`, or the original's `job_metadata`.
    var jobMetadataOrMetadata: JSONObject? { metadata ?? jobMetadata }

    static let maxDocumentBytes = 2 << 20

    /// Checks every field's shape (422s naming the field); ownership and access come after.
    /// `upload` is the file of a multipart submit: the job's document, in place of `document`.
    func validated(upload: DocumentUpload? = nil) throws(APIError) -> JobWork? {
        try Validate.identifier(teamID, field: "team_id")
        guard (1...100).contains(Validate.length(jobType)) else { throw .lengthNotBetweenOneAnd(100, field: "job_type") }
        try Validate.optionalName(userID, field: "user_id")
        try Validate.metadata(metadata)
        try Validate.metadata(jobMetadata, field: "job_metadata")
        if metadata != nil && jobMetadata != nil { throw .metadataTwice }
        try Validate.optionalName(purpose, field: "purpose")
        if let frequencyPenalty, !(-2...2).contains(frequencyPenalty) { throw .notBetween(-2, 2, field: "frequency_penalty") }
        if let presencePenalty, !(-2...2).contains(presencePenalty) { throw .notBetween(-2, 2, field: "presence_penalty") }
        if let priority { try Validate.range(priority, 0...9, field: "priority") }
        if let expiresInSeconds { try Validate.range(expiresInSeconds, 60...604_800, field: "expires_in_seconds") }
        if let maxTokens { try Validate.range(maxTokens, 1...1_000_000, field: "max_tokens") }
        if let temperature, !(0...2).contains(temperature) { throw .notBetween(0, 2, field: "temperature") }
        if let topP, !(0...1).contains(topP) { throw .notBetween(0, 1, field: "top_p") }

        if upload != nil {
            if messages != nil { throw .notWithFile("messages") }
            if document != nil { throw .notWithFile("document") }
            guard model != nil else { throw .modelMissingForFile }
        }
        guard let model else {
            if messages != nil || document != nil {
                throw .modelMissing
            }
            return nil
        }
        try Validate.identifier(model, field: "model")
        switch (messages, document) {
        case (nil, nil) where upload != nil:
            if let instructions, instructions.utf8.count > 100_000 {
                throw .instructionsTooLarge
            }
        case (nil, nil):
            throw .workMissing
        case (.some, .some):
            throw .messagesAndDocument
        case (.some(let messages), nil):
            try Self.validate(messages)
        case (nil, .some(let document)):
            guard !document.isEmpty else { throw .documentEmpty }
            guard document.utf8.count <= Self.maxDocumentBytes else {
                throw .documentTooLarge
            }
            if let instructions, instructions.utf8.count > 100_000 {
                throw .instructionsTooLarge
            }
        }
        // A document's final answer is held to its format (the worker checks it): one the worker
        // could not hold an answer to is refused here. A chat job's format goes upstream as sent.
        if messages == nil, let problem = ResponseFormatRules.problem(in: responseFormat) {
            throw .responseFormatInvalid(problem)
        }
        return JobWork(
            messages: messages,
            document: document,
            instructions: instructions,
            temperature: temperature,
            maxTokens: maxTokens,
            responseFormat: responseFormat,
            tools: tools,
            toolChoice: toolChoice,
            stop: stop,
            topP: topP,
            frequencyPenalty: frequencyPenalty,
            presencePenalty: presencePenalty,
            allowPartial: allowPartial,
            purpose: purpose,
            upload: upload
        )
    }

    /// OpenAI chat format: a non-empty list of objects, each with a known `role`.
    static func validate(_ messages: [JSONValue]) throws(APIError) {
        guard !messages.isEmpty else { throw .noMessages }
        guard messages.count <= 10_000 else { throw .tooManyMessages }
        let roles: Set<String> = ["system", "developer", "user", "assistant", "tool"]
        for (index, message) in messages.enumerated() {
            guard case .object(let fields) = message else {
                throw .messageNotObject(index)
            }
            guard let role = fields["role"]?.stringValue, roles.contains(role) else {
                throw .messageRole(index)
            }
            switch fields["content"] {
            case .string?, .array?:
                break
            case .null?, nil:
                guard role == "assistant", fields["tool_calls"] != nil else {
                    throw .fieldRequired("messages[\(index)].content")
                }
            default:
                throw .messageContent(index)
            }
        }
    }
}

extension SubmitRequest {
    /// The job this body asks for, as the store takes it: the body's own fields with their
    /// defaults (priority 0, a day to expire, a webhook unless opted out), and what the caller
    /// decided — the work, its estimate, the key. One place for single submits and batches.
    func submission(
        jobID: UUID = UUID.random(),
        teamID: String,
        work: JobWork?,
        estimate: Billing.Estimate?,
        callsPlanned: Int,
        idempotencyKey: String?,
        requestHash: [UInt8]?
    ) -> JobSubmission {
        JobSubmission(
            jobID: jobID,
            teamID: teamID,
            jobType: jobType,
            userID: userID,
            metadata: jobMetadataOrMetadata ?? [:],
            modelGroup: model,
            work: work,
            priority: priority ?? 0,
            expiresAt: Date().addingTimeInterval(Double(expiresInSeconds ?? 86_400)),
            estimate: estimate,
            callsPlanned: callsPlanned,
            idempotencyKey: idempotencyKey,
            requestHash: requestHash,
            webhook: webhook ?? true
        )
    }
}
