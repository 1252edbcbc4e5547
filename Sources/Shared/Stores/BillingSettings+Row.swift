import Foundation
import Postgres

extension BillingSettings {
    /// A team's billing settings (or a job's copy of them, taken at submit) from a row's
    /// `budget_mode`, `tokens_per_credit` and `credits_per_dollar` — the one place that reads
    /// them. A mode this build does not know reads as `job_based`.
    init(row: PostgresRow) throws {
        self.init(
            budgetMode: BudgetMode(rawValue: try row.decode("budget_mode")) ?? .jobBased,
            tokensPerCredit: try row.decode("tokens_per_credit"),
            creditsPerDollar: try row.decode("credits_per_dollar")
        )
    }
}
