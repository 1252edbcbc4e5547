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

    /// What a document's pages ask of the answers when they are shown.
    static let pageReferences =
        "The text is marked with its page numbers ([Page N]). Give the page of each finding as (p. N), or (pp. N–M) for a range."

    /// A chat job, with its messages and tools as sent.
    func single(_ work: JobWork, model: ModelEntry) -> UpstreamRequest {
        request(
            work,
            model: model,
            messages: work.messages ?? [],
            tools: work.tools,
            toolChoice: work.toolChoice,
            responseFormat: work.responseFormat
        )
    }

    /// A document that fits one call: its instructions as the system prompt, the document as the
    /// user's message (pages marked when shown), answering in the job's `response_format`.
    func single(_ work: JobWork, model: ModelEntry, document: DocumentText) -> UpstreamRequest {
        var system = instructions(work)
        if document.showsPages { system += "\n\n" + Self.pageReferences }
        system += Self.answerFormat(work)
        let messages = [Self.message("system", system), Self.message("user", document.prompt)]
        return request(work, model: model, messages: messages, tools: work.tools, toolChoice: work.toolChoice, responseFormat: work.responseFormat)
    }

    /// One step of a long document (a chunk or a reduce): its own messages, without the job's
    /// tools (a step answers in text, to be combined). Only the final answer (`final`) takes the
    /// job's `response_format`: map and intermediate reduce steps write notes, not schema output.
    func step(_ work: JobWork, model: ModelEntry, messages: [JSONValue], final: Bool = false) -> UpstreamRequest {
        request(work, model: model, messages: messages, tools: nil, toolChoice: nil, responseFormat: final ? work.responseFormat : nil)
    }

    /// The map step: part `index` (0-based) of `count`, under the job's instructions.
    func chunkMessages(_ work: JobWork, chunk: DocumentChunk, index: Int, of count: Int, showsPages: Bool) -> [JSONValue] {
        var intro = "This is part \(index + 1) of \(count) of a document"
        var system = instructions(work)
        if showsPages {
            intro += chunk.firstPage == chunk.lastPage ? " (page \(chunk.firstPage))" : " (pages \(chunk.firstPage)–\(chunk.lastPage))"
            system += "\n\n" + Self.pageReferences
        }
        return [
            Self.message("system", system),
            Self.message(
                "user",
                intro
                    + ". Analyse this part according to the instructions, as notes; the analyses of all parts will be combined afterwards.\n\n\(chunk.text)"
            ),
        ]
    }

    /// A reduce step: combines `inputs` (the parts' analyses at level 0, earlier combinations
    /// above it) of a document split into `parts`; `gaps` are the parts (0-based) that could not
    /// be analysed, named at level 0 so that the answer says so; `pages` labels each part with
    /// its pages when they are shown, and the answer is asked to keep page references.
    func reduceMessages(
        _ work: JobWork,
        parts: Int,
        level: Int,
        gaps: [Int],
        inputs: [(index: Int, text: String)],
        pages: [Int: ClosedRange<Int>] = [:],
        final: Bool = false
    ) -> [JSONValue] {
        var text = "The document was analysed in \(parts) parts. Combine these analyses into one answer to the instructions.\n"
        if !pages.isEmpty {
            text += "Keep the page references of the analyses: give the page of each finding as (p. N) or (pp. N–M).\n"
        }
        if !gaps.isEmpty && level == 0 {
            text += "Parts \(gaps.map { String($0 + 1) }.joined(separator: ", ")) could not be analysed; say so in the answer.\n"
        }
        for input in inputs {
            if level == 0 {
                let label = pages[input.index].map { $0.count == 1 ? ", page \($0.lowerBound)" : ", pages \($0.lowerBound)–\($0.upperBound)" } ?? ""
                text += "\n[Part \(input.index + 1)\(label)]\n\(input.text)\n"
            } else {
                text += "\n[Combined analysis \(input.index + 1)]\n\(input.text)\n"
            }
        }
        return [Self.message("system", instructions(work) + (final ? Self.answerFormat(work) : "")), Self.message("user", text)]
    }

    /// The final answer's format, said in words too: a provider without structured outputs
    /// (Anthropic's Messages API) is sent no `response_format`, and its answer is held to the
    /// schema all the same.
    static func answerFormat(_ work: JobWork) -> String {
        switch work.responseSchema?.requirement {
        case .schema(let schema)?:
            "\n\nAnswer with one JSON value only, with no other text, conforming to this JSON Schema:\n" + JSONText.encode(schema)
        case .jsonObject?:
            "\n\nAnswer with one JSON object only, with no other text."
        case nil:
            ""
        }
    }

    private func request(
        _ work: JobWork,
        model: ModelEntry,
        messages: [JSONValue],
        tools: JSONValue?,
        toolChoice: JSONValue?,
        responseFormat: JSONValue?
    ) -> UpstreamRequest {
        UpstreamRequest(
            model: model.modelName,
            messages: messages,
            maxTokens: maxTokens(work),
            temperature: work.temperature,
            topP: work.topP,
            stop: work.stop,
            tools: tools,
            toolChoice: toolChoice,
            responseFormat: responseFormat,
            frequencyPenalty: work.frequencyPenalty,
            presencePenalty: work.presencePenalty
        )
    }

    private static func message(_ role: String, _ content: String) -> JSONValue {
        .object(["role": .string(role), "content": .string(content)])
    }
}
