import Hummingbird
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/chat/completions`: an OpenAI-compatible chat endpoint, the shape most providers (and
/// the worker's `openai` provider kind) speak.
///
/// Order of checks, as a provider does it: 401 key → 413/400 body → 400 context length → the
/// simulated model (latency, injected failures) → the completion, or the hostile mode's answer.
/// With `stream: true` the same completion is streamed (``EventStream``); injected failures are
/// still answered as errors before any event, and the hostile mode answers as it always does.
struct OpenAIRoutes: Sendable {
    let state: MockState

    func add(to router: Router<MockRequestContext>) {
        router.post("/v1/chat/completions") { request, context in
            await ConnectionWatch.answer(request, state: self.state) { body in
                await self.chatCompletion(request, body: body, context: context)
            }
        }
    }

    func chatCompletion(_ request: Request, body: RequestBody, context: MockRequestContext) async -> Response {
        do {
            return try await self.complete(request, body: body, context: context)
        } catch {
            return error.response(.openAI, requestID: context.requestID)
        }
    }

    private func complete(_ request: Request, body requestBody: RequestBody, context: MockRequestContext) async throws(UpstreamError) -> Response {
        guard Self.hasBearerToken(request.headers[.authorization]) else { throw .missingKey }
        let body = try await JSONBody.decode(OpenAIChatRequest.self, from: requestBody, context: context).get()
        let (model, prompt) = try Self.validate(body)

        let promptTokens = prompt.promptTokens
        let contextLimit = self.state.behaviour.current.contextLimit
        if promptTokens > contextLimit { throw .contextTooLong(limit: contextLimit, tokens: promptTokens) }

        let outcome = await self.state.simulateModel(promptTokens: promptTokens)
        if case .failure(let error) = outcome { throw error }

        // decided once per call, for the body and the stream alike (`schema_violations`)
        let breaksSchema = outcome == .reply && body.asksForSchema && self.state.behaviour.takeSchemaViolation()
        var completion = Self.completion(body, model: model, prompt: prompt, requestID: context.requestID, breaksSchema: breaksSchema)
        if case .hostile(let kind) = outcome {
            let reply = MockReply.limited(MockReply.text(for: prompt), maxTokens: body.replyTokenLimit)
            return HostileAnswer(
                dialect: .openAI,
                request: request,
                context: context,
                model: model,
                normal: completion,
                text: reply.text,
                promptTokens: promptTokens,
                completionTokens: reply.tokens
            ).response(kind, logger: context.logger)
        }
        if body.stream == true {
            let answer = Self.answer(body, prompt: prompt, requestID: context.requestID, breaksSchema: breaksSchema)
            let events = EventStream.openAI(
                id: "chatcmpl-" + context.requestID,
                created: Int(Date().timeIntervalSince1970),
                model: model,
                message: answer.message,
                finishReason: answer.finishReason,
                promptTokens: prompt.promptTokens,
                completionTokens: answer.completionTokens,
                includeUsage: body.streamOptions?.includeUsage == true
            )
            let behaviour = self.state.behaviour.current
            return events.response(
                pause: .milliseconds(behaviour.streamDeltaMs),
                truncated: outcome == .malformedReply,
                stamp: behaviour.streamStamp
            )
        }
        if outcome == .malformedReply {
            completion = completion.getSlice(at: completion.readerIndex, length: completion.readableBytes / 2)!
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: completion))
    }

    /// The provider's 400s, in its words; returns the model and the prompt of a valid request.
    static func validate(_ body: OpenAIChatRequest) throws(UpstreamError) -> (model: String, prompt: PromptSummary) {
        guard let model = body.model, !model.isEmpty else {
            throw .invalidRequest("you must provide a model parameter", param: "model")
        }
        guard let messages = body.messages else {
            throw .invalidRequest("Missing required parameter: 'messages'.", param: "messages")
        }
        guard !messages.isEmpty else {
            throw .invalidRequest("Invalid 'messages': empty array. Expected an array with minimum length 1.", param: "messages")
        }
        if let limit = body.replyTokenLimit, limit < 1 {
            let name = body.maxCompletionTokens != nil ? "max_completion_tokens" : "max_tokens"
            throw .invalidRequest("Invalid '\(name)': expected a value >= 1, but got \(limit) instead.", param: name)
        }
        if let temperature = body.temperature, !(0...2).contains(temperature) {
            throw .invalidRequest("Invalid 'temperature': expected a value between 0 and 2.", param: "temperature")
        }
        if let topP = body.topP, !(0...1).contains(topP) {
            throw .invalidRequest("Invalid 'top_p': expected a value between 0 and 1.", param: "top_p")
        }
        var prompt = PromptSummary(model: model)
        for message in messages {
            prompt.add(role: message.role, content: message.content ?? MessageText(""))
        }
        return (model, prompt)
    }

    /// The `chat.completion` body: a tool call when tools were offered (and not refused with
    /// `tool_choice: "none"`), else the deterministic text, cut to the token limit.
    static func completion(
        _ body: OpenAIChatRequest,
        model: String,
        prompt: PromptSummary,
        requestID: String,
        breaksSchema: Bool = false
    ) -> ByteBuffer {
        let answer = Self.answer(body, prompt: prompt, requestID: requestID, breaksSchema: breaksSchema)
        return OpenAICompletionBody.write(
            id: "chatcmpl-" + requestID,
            created: Int(Date().timeIntervalSince1970),
            model: model,
            message: answer.message,
            finishReason: answer.finishReason,
            promptTokens: prompt.promptTokens,
            completionTokens: answer.completionTokens
        )
    }

    /// What the assistant answers, streamed or not: a tool call when tools were offered (and not
    /// refused), else the deterministic text cut to the token limit; `breaksSchema` makes a
    /// `json_schema` answer one that does not fit its schema.
    static func answer(
        _ body: OpenAIChatRequest,
        prompt: PromptSummary,
        requestID: String,
        breaksSchema: Bool = false
    ) -> (message: OpenAICompletionBody.Message, finishReason: String, completionTokens: Int) {
        let limit = body.replyTokenLimit
        if let tool = body.toolToCall {
            let arguments = MockArguments.document(for: tool.schema)
            let tokens = TokenEstimate.tokens(characters: TokenEstimate.characters(tool.name) + TokenEstimate.characters(arguments))
            return (.toolCall(id: "call_" + requestID.prefix(24), name: tool.name, arguments: arguments), "tool_calls", min(tokens, limit ?? .max))
        }
        let reply = MockReply.limited(Self.content(for: body.responseFormat, prompt: prompt, breaksSchema: breaksSchema), maxTokens: limit)
        return (.text(reply.text), reply.truncated ? "length" : "stop", reply.tokens)
    }

    /// The reply text; JSON when `response_format` asks for it (filled from the schema for
    /// `json_schema`), so clients that parse the content can run against the mock; with
    /// `breaksSchema`, a `json_schema` answer that does not fit (``MockArguments/violation(of:)``,
    /// or the plain text when no JSON can break the schema).
    static func content(for format: OpenAIChatRequest.ResponseFormat?, prompt: PromptSummary, breaksSchema: Bool = false) -> String {
        let text = MockReply.text(for: prompt)
        switch format?.type {
        case "json_schema" where breaksSchema:
            return format?.jsonSchema?.schema.flatMap(MockArguments.violation(of:)) ?? text
        case "json_schema" where format?.jsonSchema?.schema != nil:
            return MockArguments.document(for: format?.jsonSchema?.schema)
        case "json_object", "json_schema":
            var writer = JSONWriter(capacity: text.utf8.count + 16)
            writer.raw("{\"analysis\":")
            writer.string(text)
            writer.raw("}")
            return String(buffer: writer.buffer)
        default:
            return text
        }
    }

    /// `Bearer <something>`, the scheme matched without regard to case.
    static func hasBearerToken(_ authorization: String?) -> Bool {
        guard let authorization else { return false }
        let utf8 = authorization.utf8
        guard utf8.count > 7, utf8.prefix(7).elementsEqual("bearer ".utf8, by: { $0 | 0x20 == $1 | 0x20 }) else { return false }
        return utf8.dropFirst(7).contains { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
    }
}
