import Foundation

/// How a document job is split to fit a model's context: map calls over chunks, then reduce
/// calls that combine the partial analyses (several levels if they do not fit at once). Used to
/// reserve credits for every planned call at submit, and to run the job.
public struct DocumentPlan: Sendable, Hashable {
    /// Tokens kept free in every call for message framing and the reduce prompt's wording.
    public static let overheadTokens = 200

    public var chunkCount: Int
    /// Reduce calls per level, first level first; empty when the document fits in one call.
    public var reduceLevels: [Int]
    /// Prompt tokens a chunk may hold.
    public var chunkTokens: Int

    public var calls: Int { chunkCount + reduceLevels.reduce(0, +) }

    /// - Parameters:
    ///   - documentTokens: the document's estimated tokens.
    ///   - instructionTokens: the instructions' estimated tokens (sent with every call).
    ///   - contextTokens: the model's context budget.
    ///   - maxTokens: each call's completion limit (also the size of a partial analysis).
    public init(documentTokens: Int, instructionTokens: Int, contextTokens: Int, maxTokens: Int) {
        let room = Self.room(instructionTokens: instructionTokens, contextTokens: contextTokens, maxTokens: maxTokens)
        if documentTokens <= room {
            self.init(chunkCount: 1, room: room, maxTokens: maxTokens)
            return
        }
        // Chunks end on paragraph or sentence boundaries, so they are not filled to the brim:
        // plan for 85% to reserve for every call the split can make.
        let filled = max(1, room * 85 / 100)
        self.init(chunkCount: (documentTokens + filled - 1) / filled, room: room, maxTokens: maxTokens)
    }

    /// A plan over chunks already cut (an extracted document's pages packed into chunks).
    public init(chunkCount: Int, room: Int, maxTokens: Int) {
        chunkTokens = room
        self.chunkCount = max(1, chunkCount)
        // Each reduce call combines as many partials (≤ maxTokens each) as fit.
        let fanIn = max(2, room / max(1, maxTokens))
        var levels: [Int] = []
        var partials = self.chunkCount
        while partials > 1 {
            let calls = (partials + fanIn - 1) / fanIn
            levels.append(calls)
            partials = calls
        }
        reduceLevels = levels
    }

    /// The prompt tokens a chunk may hold on a model: its context less the completion, the
    /// instructions and the framing.
    public static func room(instructionTokens: Int, contextTokens: Int, maxTokens: Int) -> Int {
        max(1, contextTokens - maxTokens - instructionTokens - overheadTokens)
    }

    /// The most chunks a plan may have within `maxCalls` calls (map and reduce) at this room.
    public static func maxChunks(withinCalls maxCalls: Int, room: Int, maxTokens: Int) -> Int {
        var low = 1
        var high = max(1, maxCalls)
        while low < high {
            let middle = (low + high + 1) / 2
            if DocumentPlan(chunkCount: middle, room: room, maxTokens: maxTokens).calls <= maxCalls { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// Every call's tokens at most: prompts (chunks or partials, plus instructions and framing)
    /// and completions.
    public func maxTokens(instructionTokens: Int, maxTokens completion: Int, documentTokens: Int) -> (prompt: Int, completion: Int) {
        let framing = instructionTokens + Self.overheadTokens
        var prompt = documentTokens + chunkCount * framing
        var partials = chunkCount
        for calls in reduceLevels {
            prompt += partials * completion + calls * framing
            partials = calls
        }
        return (prompt, calls * completion)
    }
}

/// Bounds on what one document may plan (issue: a 2 MiB document with a large `max_tokens` on a
/// small-context model planned chunks of a few bytes — ~131,000 upstream calls for 1 credit).
public struct DocumentLimits: Sendable, Hashable {
    /// The least prompt room (tokens) a chunk may have once instructions, framing and the
    /// completion are set aside.
    public var minimumChunkTokens: Int
    /// The most calls (chunks and reduce calls) one document may plan.
    public var maxCalls: Int

    public init(minimumChunkTokens: Int, maxCalls: Int) {
        self.minimumChunkTokens = minimumChunkTokens
        self.maxCalls = maxCalls
    }

    public static let `default` = DocumentLimits(minimumChunkTokens: 1000, maxCalls: 1000)
}

extension DocumentPlan {
    /// Why a plan cannot run within `limits`, as a sentence for a 422; nil when it can. A
    /// document that fits one call is never refused here.
    public func refusal(_ limits: DocumentLimits, model: String) -> String? {
        guard calls > 1 else { return nil }
        if chunkTokens < limits.minimumChunkTokens {
            return
                "Field 'max_tokens' leaves \(chunkTokens) tokens per document chunk on model '\(model)'; at least \(limits.minimumChunkTokens) are needed (use a smaller 'max_tokens' or shorter 'instructions')"
        }
        if calls > limits.maxCalls {
            return "Field 'document' needs \(calls) calls on model '\(model)'; at most \(limits.maxCalls) are allowed"
        }
        return nil
    }
}
