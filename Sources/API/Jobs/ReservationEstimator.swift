import Foundation
import Shared

/// The most a job can cost (API.md, Credits): every planned call, the prompt's size and
/// `max_tokens` (or the configured default), on the priciest model of the group.
struct ReservationEstimator: Sendable {
    let defaultMaxTokens: Int
    let defaultContextTokens: Int

    func estimate(_ work: JobWork, group: ModelGroup) -> (Billing.Estimate, callsPlanned: Int) {
        let completion = work.maxTokens ?? defaultMaxTokens
        var worstTokens = 0
        var worstCost = Decimal(0)
        var worstCalls = 1
        for model in group.models {
            let (prompt, completionTotal, calls) = tokens(work, completion: completion, context: model.contextTokens ?? defaultContextTokens)
            worstTokens = max(worstTokens, prompt + completionTotal)
            worstCost = max(worstCost, model.cost(promptTokens: prompt, completionTokens: completionTotal))
            worstCalls = max(worstCalls, calls)
        }
        return (Billing.Estimate(totalTokens: worstTokens, maxCostUSD: worstCost), worstCalls)
    }

    private func tokens(_ work: JobWork, completion: Int, context: Int) -> (Int, Int, Int) {
        if let document = work.document {
            let documentTokens = Billing.estimateTokens(document)
            let instructionTokens = Billing.estimateTokens(work.instructions ?? "")
            let plan = DocumentPlan(documentTokens: documentTokens, instructionTokens: instructionTokens, contextTokens: context, maxTokens: completion)
            let (prompt, completionTotal) = plan.maxTokens(instructionTokens: instructionTokens, maxTokens: completion, documentTokens: documentTokens)
            return (prompt, completionTotal, plan.calls)
        }
        // Chat: the serialized messages (and tools) bound the prompt from above.
        let prompt = Billing.estimatePromptTokens(messages: work.messages ?? [], tools: work.tools)
        return (prompt, completion, 1)
    }
}
