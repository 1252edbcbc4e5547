public import Foundation

/// The most a job can cost (API.md, Credits): every planned call, the prompt's size and
/// `max_tokens` (or the configured default), on the priciest model of the group. The API reserves
/// it at submit; a worker estimates an uploaded document again once its text is extracted.
public struct ReservationEstimator: Sendable {
    /// How large a job's document is, as far as is known when the estimate is made.
    public enum DocumentSize: Sendable {
        /// The document's text, as sent in the JSON body: its estimated tokens.
        case text(tokens: Int)
        /// An uploaded file before extraction: its byte size bounds its text from above. A plan
        /// past the call limit is reserved at the limit rather than refused: the text is usually
        /// far smaller than the file, and the worker refuses it once it is known.
        case upload(bytes: Int)
        /// Extracted text cut into chunks: the chunks' count and their tokens for a chunk room
        /// (a model's prompt room), as the worker will send them.
        case chunked(@Sendable (_ room: Int) -> (count: Int, tokens: Int))
    }

    public let defaultMaxTokens: Int
    public let defaultContextTokens: Int
    public var documentLimits: DocumentLimits

    public init(defaultMaxTokens: Int, defaultContextTokens: Int, documentLimits: DocumentLimits = .default) {
        self.defaultMaxTokens = defaultMaxTokens
        self.defaultContextTokens = defaultContextTokens
        self.documentLimits = documentLimits
    }

    /// The estimate over the models that can take the job, and the calls it plans. A document
    /// whose plan on a model is past ``DocumentLimits`` is not run on that model (the worker
    /// skips it too); when no model of the group can take it, the answer is the first model's
    /// reason, a sentence for a 422 or a failed job.
    public func estimate(
        _ work: JobWork,
        group: ModelGroup,
        document: DocumentSize? = nil
    ) -> Result<(estimate: Billing.Estimate, callsPlanned: Int), DocumentRefusal> {
        let completion = work.maxTokens ?? defaultMaxTokens
        let size = document ?? Self.size(of: work)
        var worstTokens = 0
        var worstPrompt = 0
        var worstCost = Decimal(0)
        var worstCalls = 1
        var usable = 0
        var firstRefusal: String?
        for model in group.models {
            let context = model.contextTokens ?? defaultContextTokens
            let tokens: (prompt: Int, completion: Int, calls: Int)
            if let size {
                switch documentTokens(work, size: size, completion: completion, context: context, model: model.modelName) {
                case .success(let found): tokens = found
                case .failure(let refusal):
                    firstRefusal = firstRefusal ?? refusal.sentence
                    continue
                }
            } else {
                // Chat: the serialized messages (and tools) bound the prompt from above.
                tokens = (Billing.estimatePromptTokens(messages: work.messages ?? [], tools: work.tools), completion, 1)
            }
            usable += 1
            worstTokens = max(worstTokens, tokens.prompt + tokens.completion)
            worstPrompt = max(worstPrompt, tokens.prompt)
            worstCost = max(worstCost, model.cost(promptTokens: tokens.prompt, completionTokens: tokens.completion))
            worstCalls = max(worstCalls, tokens.calls)
        }
        if usable == 0, let firstRefusal { return .failure(DocumentRefusal(sentence: firstRefusal)) }
        return .success((Billing.Estimate(totalTokens: worstTokens, maxCostUSD: worstCost, promptTokens: worstPrompt), worstCalls))
    }

    /// The document size a job's own fields give (nil for chat).
    static func size(of work: JobWork) -> DocumentSize? {
        if let document = work.document { return .text(tokens: Billing.estimateTokens(document)) }
        if let upload = work.upload { return .upload(bytes: upload.byteSize) }
        return nil
    }

    private func documentTokens(
        _ work: JobWork,
        size: DocumentSize,
        completion: Int,
        context: Int,
        model: String
    ) -> Result<(prompt: Int, completion: Int, calls: Int), DocumentRefusal> {
        let instructionTokens = work.documentInstructionTokens
        let room = DocumentPlan.room(instructionTokens: instructionTokens, contextTokens: context, maxTokens: completion)
        var plan: DocumentPlan
        var tokens: Int
        switch size {
        case .text(let count):
            tokens = count
            plan = DocumentPlan(documentTokens: count, instructionTokens: instructionTokens, contextTokens: context, maxTokens: completion)
        case .upload(let bytes):
            tokens = (bytes + 3) / 4
            plan = DocumentPlan(documentTokens: tokens, instructionTokens: instructionTokens, contextTokens: context, maxTokens: completion)
            if plan.calls > documentLimits.maxCalls && plan.chunkTokens >= documentLimits.minimumChunkTokens {
                let chunks = DocumentPlan.maxChunks(withinCalls: documentLimits.maxCalls, room: room, maxTokens: completion)
                plan = DocumentPlan(chunkCount: chunks, room: room, maxTokens: completion)
                tokens = min(tokens, chunks * room)
            }
        case .chunked(let cut):
            let chunks = cut(room)
            tokens = chunks.tokens
            plan = DocumentPlan(chunkCount: chunks.count, room: room, maxTokens: completion)
        }
        if let refusal = plan.refusal(documentLimits, model: model) { return .failure(DocumentRefusal(sentence: refusal)) }
        let (prompt, completionTotal) = plan.maxTokens(instructionTokens: instructionTokens, maxTokens: completion, documentTokens: tokens)
        return .success((prompt, completionTotal, plan.calls))
    }
}

/// Why no model of a group can take a document, as one sentence.
public struct DocumentRefusal: Error, Sendable, Hashable {
    public var sentence: String
}
