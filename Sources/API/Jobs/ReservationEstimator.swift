import Foundation
import Shared

/// The most a job can cost (API.md, Credits): every planned call, the prompt's size and
/// `max_tokens` (or the configured default), on the priciest model of the group.
struct ReservationEstimator: Sendable {
    let defaultMaxTokens: Int
    let defaultContextTokens: Int
    var documentLimits: DocumentLimits = .default

    /// The estimate over the models that can take the job. A document whose plan on a model is
    /// past ``DocumentLimits`` is not run on that model (the worker skips it too); when no model
    /// of the group can take it, the submit is refused with the first model's reason.
    func estimate(_ work: JobWork, group: ModelGroup) throws(APIError) -> (Billing.Estimate, callsPlanned: Int) {
        let completion = work.maxTokens ?? defaultMaxTokens
        var worstTokens = 0
        var worstCost = Decimal(0)
        var worstCalls = 1
        var usable = 0
        var firstRefusal: String?
        for model in group.models {
            let (prompt, completionTotal, calls, refusal) = tokens(
                work,
                completion: completion,
                context: model.contextTokens ?? defaultContextTokens,
                model: model.modelName
            )
            if let refusal {
                firstRefusal = firstRefusal ?? refusal
                continue
            }
            usable += 1
            worstTokens = max(worstTokens, prompt + completionTotal)
            worstCost = max(worstCost, model.cost(promptTokens: prompt, completionTokens: completionTotal))
            worstCalls = max(worstCalls, calls)
        }
        if usable == 0, let firstRefusal { throw .documentRefused(firstRefusal) }
        return (Billing.Estimate(totalTokens: worstTokens, maxCostUSD: worstCost), worstCalls)
    }

    private func tokens(_ work: JobWork, completion: Int, context: Int, model: String) -> (Int, Int, Int, String?) {
        if let document = work.document {
            let documentTokens = Billing.estimateTokens(document)
            let instructionTokens = Billing.estimateTokens(work.instructions ?? "")
            let plan = DocumentPlan(
                documentTokens: documentTokens,
                instructionTokens: instructionTokens,
                contextTokens: context,
                maxTokens: completion
            )
            if let refusal = plan.refusal(documentLimits, model: model) { return (0, 0, 0, refusal) }
            let (prompt, completionTotal) = plan.maxTokens(
                instructionTokens: instructionTokens,
                maxTokens: completion,
                documentTokens: documentTokens
            )
            return (prompt, completionTotal, plan.calls, nil)
        }
        // Chat: the serialized messages (and tools) bound the prompt from above.
        let prompt = Billing.estimatePromptTokens(messages: work.messages ?? [], tools: work.tools)
        return (prompt, completion, 1, nil)
    }
}
