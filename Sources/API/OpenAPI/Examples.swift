/// Example bodies shared by several operations, as JSON text. Request examples are decoded by the
/// tests with the routes' own request types; answers' are checked against their schemas.
enum Examples {
    static let jobID = "7f3c2a5e-9b1d-4c8e-a2f4-3d5e6f708192"
    static let callID = "0b6f9d2c-4e1a-4b7c-9d3e-5f6a7b8c9d0e"

    static let organization = """
        {"organization_id": "acme", "name": "Acme Corp", "metadata": {"plan": "enterprise"},
         "created_at": "2026-11-26T18:47:10.266Z", "updated_at": "2026-11-26T18:47:10.266Z"}
        """

    static let limits = """
        {"max_queued_jobs": 10000, "submits_per_second": 50, "max_concurrent_jobs": null, "retention_days": 30,
         "low_balance_threshold": null}
        """

    static let team = """
        {"team_id": "acme-research", "organization_id": "acme", "team_alias": "Research", "status": "active",
         "model_groups": ["gpt-fast"], "credits_allocated": 1000, "credits_used": 12, "credits_reserved": 3,
         "credits_remaining": 985, "budget_mode": "job_based", "tokens_per_credit": 10000, "credits_per_dollar": 10,
         "key_prefix": "sk-4fQz", "metadata": {}, "created_at": "2026-11-26T18:47:10.266Z",
         "updated_at": "2026-11-26T18:47:10.266Z", "limits": \(limits)}
        """

    static let modelGroup = """
        {"group_name": "gpt-fast", "display_name": "Fast GPT", "description": "Cheap chat with a fallback",
         "models": [{"model_name": "gpt-4o-mini", "provider": "openai-main", "priority": 0, "input_price_per_million": 0.15,
                     "output_price_per_million": 0.6, "context_tokens": 128000},
                    {"model_name": "claude-3-5-haiku", "provider": "anthropic-main", "priority": 1,
                     "input_price_per_million": 0.8, "output_price_per_million": 4}],
         "created_at": "2026-11-26T18:47:10.266Z", "updated_at": "2026-11-26T18:47:10.266Z"}
        """

    static let provider = """
        {"name": "openai-main", "kind": "openai", "base_url": "https://api.openai.com/v1", "rpm": 500, "tpm": null,
         "timeout_seconds": 120, "health": {"circuit_state": "closed"},
         "created_at": "2026-11-26T18:47:10.266Z", "updated_at": "2026-11-26T18:47:10.266Z"}
        """

    static let transaction = """
        {"transaction_id": "5d7e8f90-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "team_id": "acme-research", "transaction_type": "allocation",
         "credits_amount": 500, "credits_after": 1485, "reason": "monthly top-up", "created_at": "2026-11-26T18:47:10.266Z"}
        """

    static let balance = """
        {"team_id": "acme-research", "credits_allocated": 1000, "credits_used": 12, "credits_reserved": 3,
         "credits_remaining": 985, "budget_mode": "job_based", "tokens_per_credit": 10000, "credits_per_dollar": 10}
        """

    static let usage = """
        {"organization_id": "acme", "team_id": "acme-research", "period": "2026-11", "start": "2026-11-01T00:00:00.000Z",
         "end": "2026-12-01T00:00:00.000Z", "jobs": {"total": 42, "completed": 40, "failed": 2}, "credits_used": 40,
         "tokens": {"prompt": 52000, "completion": 8000, "total": 60000}, "cost_usd": 0.0126,
         "teams": [{"team_id": "acme-research", "jobs": {"total": 42, "completed": 40, "failed": 2}, "credits_used": 40,
                    "tokens": {"prompt": 52000, "completion": 8000, "total": 60000}, "cost_usd": 0.0126}]}
        """

    static let job = """
        {"job_id": "\(jobID)", "team_id": "acme-research", "job_type": "summarise", "user_id": "user-17",
         "status": "completed", "priority": 0, "created_at": "2026-11-26T18:47:10.266Z",
         "started_at": "2026-11-26T18:47:10.300Z", "completed_at": "2026-11-26T18:47:11.920Z",
         "expires_at": "2026-11-27T18:47:10.266Z", "attempts": 1, "model": "gpt-fast", "metadata": {"ticket": 4711},
         "credits_reserved": 0, "credits_charged": 1, "progress": {"calls_done": 1, "calls_planned": 1},
         "result": {"content": "A short summary.", "finish_reason": "stop"},
         "usage": {"prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280}, "cost_usd": 0.000228, "error": null}
        """

    static let queuedJob = """
        {"job_id": "\(jobID)", "team_id": "acme-research", "job_type": "summarise", "user_id": null, "status": "queued",
         "priority": 0, "created_at": "2026-11-26T18:47:10.266Z", "started_at": null, "completed_at": null,
         "expires_at": "2026-11-27T18:47:10.266Z", "attempts": 0, "model": "gpt-fast", "metadata": {},
         "credits_reserved": 1, "credits_charged": 0, "progress": {"calls_done": 0, "calls_planned": 1}}
        """

    static let call = """
        {"call_id": "\(callID)", "step": "chat", "step_index": 0, "model": "gpt-4o-mini", "provider": "openai-main",
         "attempt": 1, "status_code": 200, "prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280,
         "cost_usd": 0.000228, "latency_ms": 1620, "billed": true, "created_at": "2026-11-26T18:47:11.900Z"}
        """

    static let submit = """
        {"team_id": "acme-research", "job_type": "summarise", "user_id": "user-17", "metadata": {"ticket": 4711},
         "model": "gpt-fast", "messages": [{"role": "system", "content": "Summarise in one sentence."},
                                          {"role": "user", "content": "The quarterly report says…"}],
         "max_tokens": 200, "temperature": 0.2, "priority": 5}
        """

    static let callMetadata = """
        {"tokens_used": 1280, "prompt_tokens": 1200, "completion_tokens": 80, "latency_ms": 1620, "model": "gpt-fast",
         "model_used": "gpt-4o-mini"}
        """

    static let stepCall = """
        {"call_id": "\(callID)", "job_id": "\(jobID)", "status": "completed", "purpose": "classify", "credits_reserved": 1,
         "created_at": "2026-11-26T18:47:10.266Z", "completed_at": "2026-11-26T18:47:11.920Z",
         "response": {"content": "positive", "finish_reason": "stop"}, "metadata": \(callMetadata), "cost_usd": 0.000228,
         "costs": {"cost_usd": 0.000228, "credits_reserved": 1, "credits_due": 1, "credits_charged": 0}}
        """

    static let costs = """
        {"total_calls": 1, "successful_calls": 1, "failed_calls": 0, "total_tokens": 1280, "total_cost_usd": 0.000228,
         "avg_latency_ms": 1620, "credits_charged": 1, "credits_remaining": 984}
        """

    static let webhook = """
        {"team_id": "acme-research", "url": "https://hooks.example.com/llm", "events": ["job.completed", "job.failed"],
         "secret": "whsec_ZXhhbXBsZS1vbmx5LW5vdC1hLXNlY3JldA==", "created_at": "2026-11-26T18:47:10.266Z",
         "updated_at": "2026-11-26T18:47:10.266Z"}
        """
}
