import Foundation
import Shared
import Testing

@testable import Worker

@Suite("PromptBuilder: what each call asks a model")
struct PromptBuilderTests {
    private let prompts = PromptBuilder(defaultMaxTokens: 256)
    private let model = ModelEntry(modelName: "gpt-test", provider: "p", priority: 1)

    private func message(_ role: String, _ content: String) -> JSONValue {
        .object(["role": .string(role), "content": .string(content)])
    }

    @Test("a chat job goes as sent: messages, tools and options; the default completion limit when it sets none")
    func chat() {
        let tools: JSONValue = .array([.object(["type": .string("function")])])
        let work = JobWork(
            messages: [message("user", "hi")],
            temperature: 0.5,
            responseFormat: .object(["type": .string("json_object")]),
            tools: tools,
            toolChoice: .string("auto"),
            stop: .string("END"),
            topP: 0.9
        )
        let request = prompts.single(work, model: model)
        #expect(request.model == "gpt-test")
        #expect(request.messages == [message("user", "hi")])
        #expect(request.maxTokens == 256)
        #expect(request.temperature == 0.5 && request.topP == 0.9)
        #expect(request.stop == .string("END"))
        #expect(request.tools == tools && request.toolChoice == .string("auto"))
        #expect(request.responseFormat == .object(["type": .string("json_object")]))
        #expect(prompts.single(JobWork(messages: [], maxTokens: 9), model: model).maxTokens == 9)
    }

    @Test("a document that fits one call: its instructions (or the default ones) as the system prompt, the document as the user's")
    func singleDocument() {
        let text = DocumentText(pages: ["The text."], showsPages: false)
        let own = prompts.single(JobWork(document: "The text.", instructions: "List the names."), model: model, document: text)
        #expect(own.messages == [message("system", "List the names."), message("user", "The text.")])
        let plain = prompts.single(JobWork(document: "The text."), model: model, document: text)
        #expect(plain.messages == [message("system", PromptBuilder.defaultInstructions), message("user", "The text.")])
        #expect(PromptBuilder.defaultInstructions == "Analyse the document: summarise its content and key points.")
    }

    @Test("an uploaded document's pages are marked, and its calls asked for page references")
    func pages() {
        let work = JobWork(instructions: "Find dates.", maxTokens: 50)
        let text = DocumentText(pages: ["One.", "Two."], showsPages: true)
        let single = prompts.single(work, model: model, document: text)
        #expect(
            single.messages == [
                message("system", "Find dates.\n\n" + PromptBuilder.pageReferences), message("user", "[Page 1]\nOne.\n\n[Page 2]\nTwo."),
            ]
        )

        let chunk = DocumentChunk(text: "[Page 3]\nThree.\n\n[Page 4]\nFour.", firstPage: 3, lastPage: 4)
        let messages = prompts.chunkMessages(work, chunk: chunk, index: 1, of: 2, showsPages: true)
        #expect(messages.first == message("system", "Find dates.\n\n" + PromptBuilder.pageReferences))
        #expect(messages.last?.objectValue?["content"]?.stringValue?.hasPrefix("This is part 2 of 2 of a document (pages 3–4).") == true)

        let reduce = prompts.reduceMessages(
            work,
            parts: 2,
            level: 0,
            gaps: [],
            inputs: [(0, "Dates: 1 May (p. 1)."), (1, "Dates: 3 June (p. 4).")],
            pages: [0: 1...2, 1: 3...4]
        )
        let asked = reduce.last?.objectValue?["content"]?.stringValue ?? ""
        #expect(asked.contains("Keep the page references"))
        #expect(asked.contains("[Part 1, pages 1–2]\nDates: 1 May (p. 1).") && asked.contains("[Part 2, pages 3–4]"))
    }

    @Test("only the final answer takes the job's response_format: map and intermediate steps write notes")
    func finalFormat() {
        let format = JSONValue.object(["type": .string("json_object")])
        let work = JobWork(document: "…", maxTokens: 50, responseFormat: format)
        #expect(prompts.step(work, model: model, messages: []).responseFormat == nil)
        #expect(prompts.step(work, model: model, messages: [], final: true).responseFormat == format)
        #expect(prompts.single(work, model: model, document: DocumentText(pages: ["…"], showsPages: false)).responseFormat == format)
    }

    @Test("a chunk step names its part and carries no tools")
    func chunk() {
        let work = JobWork(document: "…", instructions: "Find dates.", maxTokens: 50, tools: .array([]), toolChoice: .string("auto"))
        let chunk = DocumentChunk(text: "Second part.", firstPage: 1, lastPage: 1)
        let messages = prompts.chunkMessages(work, chunk: chunk, index: 1, of: 3, showsPages: false)
        #expect(
            messages == [
                message("system", "Find dates."),
                message(
                    "user",
                    "This is part 2 of 3 of a document. Analyse this part according to the instructions, as notes; the analyses of all parts will be combined afterwards.\n\nSecond part."
                ),
            ]
        )
        let request = prompts.step(work, model: model, messages: messages)
        #expect(request.messages == messages)
        #expect(request.tools == nil && request.toolChoice == nil)
        #expect(request.maxTokens == 50)
    }

    @Test("a reduce step lists its inputs as parts at level 0, as combined analyses above, and names the missing parts once")
    func reduce() {
        let work = JobWork(document: "…")
        let first = prompts.reduceMessages(work, parts: 4, level: 0, gaps: [1, 3], inputs: [(index: 0, text: "A"), (index: 2, text: "C")])
        #expect(
            first == [
                message("system", PromptBuilder.defaultInstructions),
                message(
                    "user",
                    """
                    The document was analysed in 4 parts. Combine these analyses into one answer to the instructions.
                    Parts 2, 4 could not be analysed; say so in the answer.

                    [Part 1]
                    A

                    [Part 3]
                    C

                    """
                ),
            ]
        )
        let second = prompts.reduceMessages(work, parts: 4, level: 1, gaps: [1, 3], inputs: [(index: 0, text: "AC"), (index: 1, text: "BD")])
        #expect(
            second == [
                message("system", PromptBuilder.defaultInstructions),
                message(
                    "user",
                    """
                    The document was analysed in 4 parts. Combine these analyses into one answer to the instructions.

                    [Combined analysis 1]
                    AC

                    [Combined analysis 2]
                    BD

                    """
                ),
            ]
        )
    }
}
