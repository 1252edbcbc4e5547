import Postgres

/// The `CHECK` constraints that hold only a value the client sent, as written (lengths of names,
/// job types, user ids, reasons, idempotency keys, the webhook URL). The API checks each of them
/// first (counting code points, as `length(...)` does); a violation of one that still reaches
/// PostgreSQL (SQLSTATE 23514) is the client's value, a 422, while any other check — a balance,
/// a hash, a state the service computed — stays a 500: it is this service's fault.
enum ClientValueChecks {
    static let constraints: Set<String> = [
        "organizations_name_check",
        "model_groups_display_name_check",
        "model_groups_description_check",
        "model_group_models_model_name_check",
        "teams_team_alias_check",
        "jobs_job_type_check",
        "jobs_user_id_check",
        "jobs_idempotency_key_check",
        "credit_ledger_reason_check",
        "credit_ledger_idempotency_key_check",
        "job_batches_idempotency_key_check",
        "webhook_endpoints_url_check",
    ]

    /// Whether `error` is a check violation of one of ``constraints`` (named in the server's
    /// message: `… violates check constraint "jobs_job_type_check"`).
    static func isClients(_ error: PostgresError) -> Bool {
        guard case .server(let state, let message, _) = error, state == PostgresError.Code.checkViolation,
            let name = message.split(separator: "\"").dropFirst().last(where: { $0.hasSuffix("_check") })
        else { return false }
        return constraints.contains(String(name))
    }
}
