/// What a transaction is for, as its caller names it: the label of
/// `saas_postgres_transactions_total{kind}`. A small fixed set, so the metric's cardinality is
/// known in advance; cold paths leave it at ``other``.
public enum PostgresTransactionKind: String, Sendable, CaseIterable {
    /// Creating jobs: single submits, batches, step-by-step calls.
    case submit
    /// A worker marking claimed jobs `in_progress`.
    case claim
    /// A worker settling deliveries.
    case settle
    /// A document job keeping a finished step.
    case step
    /// The sweeper's reconciliation and retention.
    case sweep
    /// Admin changes: credits, teams, model groups, providers.
    case admin
    case other
}
