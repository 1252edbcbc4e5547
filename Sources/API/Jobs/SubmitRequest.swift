import Foundation
import Shared

/// The body of `POST /api/jobs/create`.
struct SubmitRequest: Decodable, Sendable {
    var team_id: String
    var job_type: String
    var user_id: String?
    var metadata: JSONObject?
    var model: String?
    var messages: [JSONValue]?
    var document: String?
    var instructions: String?
    var temperature: Double?
    var max_tokens: Int?
    var response_format: JSONValue?
    var tools: JSONValue?
    var tool_choice: JSONValue?
    var stop: JSONValue?
    var top_p: Double?
    var priority: Int?
    var allow_partial: Bool?
    var expires_in_seconds: Int?

    static let maxDocumentBytes = 2 << 20

    /// Checks every field's shape (422s naming the field); ownership and access come after.
    func validated() throws(APIError) -> JobWork? {
        try Validate.identifier(team_id, field: "team_id")
        guard (1...100).contains(job_type.count) else { throw .unprocessable("Field 'job_type' must be 1-100 characters") }
        try Validate.optionalName(user_id, field: "user_id")
        try Validate.metadata(metadata)
        if let priority { try Validate.range(priority, 0...9, field: "priority") }
        if let expires_in_seconds { try Validate.range(expires_in_seconds, 60...604_800, field: "expires_in_seconds") }
        if let max_tokens { try Validate.range(max_tokens, 1...1_000_000, field: "max_tokens") }
        if let temperature, !(0...2).contains(temperature) { throw .unprocessable("Field 'temperature' must be between 0 and 2") }
        if let top_p, !(0...1).contains(top_p) { throw .unprocessable("Field 'top_p' must be between 0 and 1") }

        guard let model else {
            if messages != nil || document != nil {
                throw .unprocessable("Field 'model' is required with 'messages' or 'document'")
            }
            return nil
        }
        try Validate.identifier(model, field: "model")
        switch (messages, document) {
        case (nil, nil):
            throw .unprocessable("Field 'messages' or 'document' is required with 'model'")
        case (.some, .some):
            throw .unprocessable("Provide either 'messages' or 'document', not both")
        case (.some(let messages), nil):
            try Self.validate(messages)
        case (nil, .some(let document)):
            guard !document.isEmpty else { throw .unprocessable("Field 'document' must not be empty") }
            guard document.utf8.count <= Self.maxDocumentBytes else {
                throw .unprocessable("Field 'document' must be at most 2 MiB of UTF-8 text")
            }
            if let instructions, instructions.utf8.count > 100_000 {
                throw .unprocessable("Field 'instructions' must be at most 100000 bytes")
            }
        }
        return JobWork(
            messages: messages, document: document, instructions: instructions, temperature: temperature, maxTokens: max_tokens,
            responseFormat: response_format, tools: tools, toolChoice: tool_choice, stop: stop, topP: top_p, allowPartial: allow_partial
        )
    }

    /// OpenAI chat format: a non-empty list of objects, each with a known `role`.
    private static func validate(_ messages: [JSONValue]) throws(APIError) {
        guard !messages.isEmpty else { throw .unprocessable("Field 'messages' must hold at least one message") }
        guard messages.count <= 10_000 else { throw .unprocessable("Field 'messages' must hold at most 10000 messages") }
        let roles: Set<String> = ["system", "developer", "user", "assistant", "tool"]
        for (index, message) in messages.enumerated() {
            guard case .object(let fields) = message else {
                throw .unprocessable("Field 'messages[\(index)]' must be an object")
            }
            guard let role = fields["role"]?.stringValue, roles.contains(role) else {
                throw .unprocessable("Field 'messages[\(index)].role' must be one of system, developer, user, assistant, tool")
            }
            switch fields["content"] {
            case .string?, .array?:
                break
            case .null?, nil:
                guard role == "assistant", fields["tool_calls"] != nil else {
                    throw .unprocessable("Field 'messages[\(index)].content' is required")
                }
            default:
                throw .unprocessable("Field 'messages[\(index)].content' must be a string or an array of parts")
            }
        }
    }
}
