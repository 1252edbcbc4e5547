import Hummingbird
import NIOCore

/// `POST /v1/messages`: Anthropic's Messages API, for the worker's `anthropic` provider kind.
///
/// Order of checks, as Anthropic does it: 401 `x-api-key` → 400 `anthropic-version` → 413/400 body
/// → 400 prompt too long → the simulated model (latency, injected failures) → the message, or the
/// hostile mode's answer; with `stream: true` the same message as events (``EventStream``),
/// injected failures still answered as errors first. Every answer carries `request-id` (and `x-request-id`, like every answer
/// of the mock).
struct AnthropicRoutes: Sendable {
    let state: MockState

    func add(to router: Router<MockRequestContext>) {
        router.post("/v1/messages") { request, context in
            var response = await ConnectionWatch.answer(request, state: self.state) { body in
                await self.message(request, body: body, context: context)
            }
            response.headers[.requestID] = "req_" + context.requestID
            return response
        }
    }

    func message(_ request: Request, body: RequestBody, context: MockRequestContext) async -> Response {
        do {
            return try await self.reply(request, body: body, context: context)
        } catch {
            return error.response(.anthropic, requestID: context.requestID)
        }
    }

    private func reply(_ request: Request, body requestBody: RequestBody, context: MockRequestContext) async throws(UpstreamError) -> Response {
        guard let key = request.headers[.xAPIKey], !key.isEmpty else { throw .missingKey }
        guard let version = request.headers[.anthropicVersion], !version.isEmpty else { throw .missingVersion }
        let body = try await JSONBody.decode(AnthropicMessagesRequest.self, from: requestBody, context: context).get()
        let (model, maxTokens, prompt) = try Self.validate(body)

        let promptTokens = prompt.promptTokens
        let contextLimit = self.state.behaviour.current.contextLimit
        if promptTokens > contextLimit { throw .contextTooLong(limit: contextLimit, tokens: promptTokens) }

        let outcome = await self.state.simulateModel(promptTokens: promptTokens)
        if case .failure(let error) = outcome { throw error }

        var message = Self.message(body, model: model, maxTokens: maxTokens, prompt: prompt, requestID: context.requestID)
        if case .hostile(let kind) = outcome {
            let reply = MockReply.limited(MockReply.text(for: prompt), maxTokens: maxTokens)
            return HostileAnswer(
                dialect: .anthropic,
                request: request,
                context: context,
                model: model,
                normal: message,
                text: reply.text,
                promptTokens: promptTokens,
                completionTokens: reply.tokens
            ).response(kind, logger: context.logger)
        }
        if body.stream == true {
            let answer = Self.answer(body, maxTokens: maxTokens, prompt: prompt, requestID: context.requestID)
            let events = EventStream.anthropic(
                id: "msg_" + context.requestID,
                model: model,
                block: answer.block,
                stopReason: answer.stopReason,
                inputTokens: prompt.promptTokens,
                outputTokens: answer.outputTokens
            )
            let behaviour = self.state.behaviour.current
            return events.response(
                pause: .milliseconds(behaviour.streamDeltaMs),
                truncated: outcome == .malformedReply,
                stamp: behaviour.streamStamp
            )
        }
        if outcome == .malformedReply {
            message = message.getSlice(at: message.readerIndex, length: message.readableBytes / 2)!
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: message))
    }

    /// Anthropic's 400s, in its words; returns the model, `max_tokens` and the prompt of a valid request.
    static func validate(_ body: AnthropicMessagesRequest) throws(UpstreamError) -> (model: String, maxTokens: Int, prompt: PromptSummary) {
        guard let model = body.model, !model.isEmpty else { throw .invalidRequest("model: Field required", param: "model") }
        guard let maxTokens = body.maxTokens else { throw .invalidRequest("max_tokens: Field required", param: "max_tokens") }
        guard maxTokens >= 1 else {
            throw .invalidRequest("max_tokens: Input should be greater than or equal to 1", param: "max_tokens")
        }
        guard let messages = body.messages else { throw .invalidRequest("messages: Field required", param: "messages") }
        guard !messages.isEmpty else {
            throw .invalidRequest("messages: at least one message is required", param: "messages")
        }
        if let temperature = body.temperature, !(0...1).contains(temperature) {
            throw .invalidRequest("temperature: Input should be less than or equal to 1", param: "temperature")
        }
        var prompt = PromptSummary(model: model)
        if let system = body.system, !system.text.isEmpty {
            prompt.add(role: "system", content: system)
        }
        for message in messages {
            prompt.add(role: message.role, content: message.content ?? MessageText(""))
        }
        return (model, maxTokens, prompt)
    }

    /// The `message` body: a `tool_use` block when tools were offered (and not refused with
    /// `tool_choice: {"type":"none"}`), else the deterministic text, cut to `max_tokens`.
    static func message(
        _ body: AnthropicMessagesRequest,
        model: String,
        maxTokens: Int,
        prompt: PromptSummary,
        requestID: String
    ) -> ByteBuffer {
        let answer = Self.answer(body, maxTokens: maxTokens, prompt: prompt, requestID: requestID)
        return AnthropicMessageBody.write(
            id: "msg_" + requestID,
            model: model,
            block: answer.block,
            stopReason: answer.stopReason,
            inputTokens: prompt.promptTokens,
            outputTokens: answer.outputTokens
        )
    }

    /// What the assistant answers, streamed or not: a `tool_use` block when tools were offered
    /// (and not refused), else the deterministic text cut to `max_tokens`.
    static func answer(
        _ body: AnthropicMessagesRequest,
        maxTokens: Int,
        prompt: PromptSummary,
        requestID: String
    ) -> (block: AnthropicMessageBody.Block, stopReason: String, outputTokens: Int) {
        if let tool = body.toolToCall {
            let input = MockArguments.document(for: tool.schema)
            let tokens = TokenEstimate.tokens(characters: TokenEstimate.characters(tool.name) + TokenEstimate.characters(input))
            return (.toolUse(id: "toolu_" + requestID.prefix(24), name: tool.name, input: input), "tool_use", min(tokens, maxTokens))
        }
        let reply = MockReply.limited(MockReply.text(for: prompt), maxTokens: maxTokens)
        return (.text(reply.text), reply.truncated ? "max_tokens" : "end_turn", reply.tokens)
    }
}
