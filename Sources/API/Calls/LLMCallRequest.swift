import Foundation
import Shared

/// The body of `POST /api/jobs/{job_id}/llm-call` (and `llm-call-stream`): one chat call, with the
/// optional chat fields of submit and the original system's `purpose` and `call_metadata`.
struct LLMCallRequest: Decodable, Sendable {
    var model: String
    var messages: [JSONValue]
    var temperature: Double?
    var maxTokens: Int?
    var responseFormat: JSONValue?
    var tools: JSONValue?
    var toolChoice: JSONValue?
    var topP: Double?
    var stop: JSONValue?
    var frequencyPenalty: Double?
    var presencePenalty: Double?
    var purpose: String?
    var callMetadata: JSONObject?

    enum CodingKeys: String, CodingKey {
        case model, messages, temperature, tools, stop, purpose
        case maxTokens = "max_tokens"
        case responseFormat = "response_format"
        case toolChoice = "tool_choice"
        case topP = "top_p"
        case frequencyPenalty = "frequency_penalty"
        case presencePenalty = "presence_penalty"
        case callMetadata = "call_metadata"
    }

    /// Checks every field's shape (422s naming the field); the job and access come after.
    func validated(stream: Bool) throws(APIError) -> JobWork {
        try Validate.identifier(model, field: "model")
        try SubmitRequest.validate(messages)
        try ChatOptions.validate(temperature: temperature, maxTokens: maxTokens, topP: topP)
        if let frequencyPenalty, !(-2...2).contains(frequencyPenalty) { throw .notBetween(-2, 2, field: "frequency_penalty") }
        if let presencePenalty, !(-2...2).contains(presencePenalty) { throw .notBetween(-2, 2, field: "presence_penalty") }
        try Validate.optionalName(purpose, field: "purpose")
        try Validate.metadata(callMetadata, field: "call_metadata")
        return JobWork(
            messages: messages,
            temperature: temperature,
            maxTokens: maxTokens,
            responseFormat: responseFormat,
            tools: tools,
            toolChoice: toolChoice,
            stop: stop,
            topP: topP,
            frequencyPenalty: frequencyPenalty,
            presencePenalty: presencePenalty,
            stream: stream ? true : nil,
            purpose: purpose,
            callMetadata: callMetadata
        )
    }
}

/// The generation options shared by submit and the call routes.
enum ChatOptions {
    static func validate(temperature: Double?, maxTokens: Int?, topP: Double?) throws(APIError) {
        if let maxTokens { try Validate.range(maxTokens, 1...1_000_000, field: "max_tokens") }
        if let temperature, !(0...2).contains(temperature) { throw .notBetween(0, 2, field: "temperature") }
        if let topP, !(0...1).contains(topP) { throw .notBetween(0, 1, field: "top_p") }
    }
}

/// The body of `POST /api/jobs/{job_id}/complete`.
struct CompleteRequest: Decodable, Sendable {
    var status: String
    var metadata: JSONObject?
    var errorMessage: String?

    enum CodingKeys: String, CodingKey {
        case status, metadata
        case errorMessage = "error_message"
    }

    func validated() throws(APIError) -> StepSettlementPlan.Ending {
        try Validate.metadata(metadata)
        try Validate.optionalName(errorMessage, field: "error_message", max: 2000)
        switch status {
        case JobStatus.completed.rawValue: return .completed
        case JobStatus.failed.rawValue: return .failed
        default: throw .completeStatusInvalid
        }
    }
}

/// The body of `PATCH /api/jobs/{job_id}/metadata`.
struct MetadataPatch: Decodable, Sendable {
    var metadata: JSONObject
}
