import Shared

/// Every prompt the worker sends, in one place: a chat job as its owner wrote it, a document that
/// fits one call, and a long document's chunk and reduce steps. Pure: the same job gives the same
/// requests, so what a model is asked can be read and tested without a network.
struct PromptBuilder: Sendable {
    /// The instructions of a document job that gives none.
    static let defaultInstructions = "Analyse the document: summarise its content and key points."

    /// The completion limit of a job that sets none (`DEFAULT_MAX_TOKENS`).
    let defaultMaxTokens: Int

    /// The job's completion limit.
    func maxTokens(_ work: JobWork) -> Int {
        work.maxTokens ?? defaultMaxTokens
    }

    /// The system prompt of every call of a document job.
    func instructions(_ work: JobWork) -> String {
        work.instructions ?? Self.defaultInstructions
    }

    /// A chat job, with its messages and tools as sent; or a document that fits one call: its
    /// instructions as the system prompt, the document as the user's message.
    func single(_ work: JobWork, model: ModelEntry) -> UpstreamRequest {
        var messages = work.messages ?? []
        if let document = work.document {
            messages = [Self.message("system", instructions(work)), Self.message("user", document)]
        }
        return request(work, model: model, messages: messages, tools: work.tools, toolChoice: work.toolChoice)
    }

    /// One step of a long document (a chunk or a reduce): its own messages, without the job's
    /// tools (a step answers in text, to be combined).
    func step(_ work: JobWork, model: ModelEntry, messages: [JSONValue]) -> UpstreamRequest {
        request(work, model: model, messages: messages, tools: nil, toolChoice: nil)
    }

    /// The map step: part `index` (0-based) of `count`, under the job's instructions.
    func chunkMessages(_ work: JobWork, chunk: String, index: Int, of count: Int) -> [JSONValue] {
        [
            Self.message("system", instructions(work)),
            Self.message(
                "user",
                "This is part \(index + 1) of \(count) of a document. Analyse this part according to the instructions; the analyses of all parts will be combined afterwards.\n\n\(chunk)"
            ),
        ]
    }

    /// A reduce step: combines `inputs` (the parts' analyses at level 0, earlier combinations
    /// above it) of a document split into `parts`; `gaps` are the parts (0-based) that could not
    /// be analysed, named at level 0 so that the answer says so.
    func reduceMessages(_ work: JobWork, parts: Int, level: Int, gaps: [Int], inputs: [(index: Int, text: String)]) -> [JSONValue] {
        var text = "The document was analysed in \(parts) parts. Combine these analyses into one answer to the instructions.\n"
        if !gaps.isEmpty && level == 0 {
            text += "Parts \(gaps.map { String($0 + 1) }.joined(separator: ", ")) could not be analysed; say so in the answer.\n"
        }
        for input in inputs {
            text += level == 0 ? "\n[Part \(input.index + 1)]\n\(input.text)\n" : "\n[Combined analysis \(input.index + 1)]\n\(input.text)\n"
        }
        return [Self.message("system", instructions(work)), Self.message("user", text)]
    }

    private func request(_ work: JobWork, model: ModelEntry, messages: [JSONValue], tools: JSONValue?, toolChoice: JSONValue?) -> UpstreamRequest {
        UpstreamRequest(
            model: model.modelName,
            messages: messages,
            maxTokens: maxTokens(work),
            temperature: work.temperature,
            topP: work.topP,
            stop: work.stop,
            tools: tools,
            toolChoice: toolChoice,
            responseFormat: work.responseFormat,
            frequencyPenalty: work.frequencyPenalty,
            presencePenalty: work.presencePenalty
        )
    }

    private static func message(_ role: String, _ content: String) -> JSONValue {
        .object(["role": .string(role), "content": .string(content)])
    }
}
