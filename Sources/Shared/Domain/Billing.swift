public import Foundation

/// The credit arithmetic of API.md, in one place: what a job may cost at most (its reservation)
/// and what it costs when it completes (its charge, never above the reservation).
public enum Billing {
    /// What the most expensive completion of a job could use: all its planned calls' tokens, and
    /// what they would cost on the priciest model of its group.
    public struct Estimate: Sendable, Hashable {
        public var totalTokens: Int
        public var maxCostUSD: Decimal
        /// The prompt's part of ``totalTokens`` (every planned call's prompts), on the model that
        /// sends the most: what `POST /api/jobs/estimate` shows as `prompt_tokens_estimate`.
        public var promptTokens: Int

        public init(totalTokens: Int, maxCostUSD: Decimal, promptTokens: Int = 0) {
            self.totalTokens = totalTokens
            self.maxCostUSD = maxCostUSD
            self.promptTokens = promptTokens
        }
    }

    /// The reservation: the charge of the estimate under the team's rates at submit.
    public static func reservation(_ estimate: Estimate, _ billing: BillingSettings) -> Int {
        charge(tokens: estimate.totalTokens, costUSD: estimate.maxCostUSD, billing)
    }

    /// The largest charge or reservation the arithmetic produces: far above any balance (so a
    /// job this expensive is refused or charged its reservation), far below an overflow.
    public static let maxCredits = Int(Int64.max / 4)

    /// `job_based`: 1; `consumption_tokens`: max(1, ⌊tokens / tokens_per_credit⌋);
    /// `consumption_usd`: max(1, ⌊cost × credits_per_dollar⌋).
    public static func charge(tokens: Int, costUSD: Decimal, _ billing: BillingSettings) -> Int {
        switch billing.budgetMode {
        case .jobBased:
            return 1
        case .consumptionTokens:
            return max(1, tokens / max(1, billing.tokensPerCredit))
        case .consumptionUSD:
            var product = costUSD * billing.creditsPerDollar
            var floored = Decimal()
            NSDecimalRound(&floored, &product, 0, .down)
            // A cost from outside can be absurd; past this the conversion to Int would not hold.
            // Past Decimal's range the product is NaN, which orders below every number and
            // converts to 0: it is the most absurd cost of all, not a free one.
            guard !floored.isNaN, floored < Decimal(maxCredits) else { return maxCredits }
            return max(1, NSDecimalNumber(decimal: floored).intValue)
        }
    }

    /// A conservative token count for text, without a tokenizer: one token per 4 bytes of
    /// UTF-8 (rounded up), which over-counts English slightly — right for a reservation.
    public static func estimateTokens(_ text: String) -> Int {
        (text.utf8.count + 3) / 4
    }

    /// A chat request's prompt tokens at most: its messages and tools as JSON, plus framing.
    public static func estimatePromptTokens(messages: [JSONValue], tools: JSONValue?) -> Int {
        var tokens = messages.reduce(0) { $0 + estimateTokens(JSONText.encode($1)) + 4 }
        if let tools { tokens += estimateTokens(JSONText.encode(tools)) }
        return tokens
    }
}
