"""The admin endpoints of API.md (``X-Admin-Key``), written once for ``AdminClient`` and
``AsyncAdminClient`` (see ``_core``). Answers are the API's JSON objects.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from ._core import Context, Op, Request
from ._operations import _idempotent, _p, _page
from .models import Job, JSONObject, Page


def _body(values: Mapping[str, Any]) -> JSONObject:
    return {key: value for key, value in values.items() if value is not None}


def _call(method: str, path: str, body: Any = None, params: Optional[dict[str, Any]] = None, **options: Any) -> Op[JSONObject]:
    retry_safe = options.pop("retry_safe", method in ("GET", "PUT", "DELETE"))
    request = Request(method, path, params=params, retry_safe=retry_safe, **options)
    if body is not None:
        request.json = body
    reply = yield request
    data: JSONObject = reply.json() or {}
    return data


# ---------------------------------------------------------------- organizations


def create_organization(
    ctx: Context, /, organization_id: str, name: str, *, metadata: Optional[Mapping[str, Any]] = None
) -> Op[JSONObject]:
    """Create an organization (409 when the id is taken)."""
    return (yield from _call("POST", "/api/organizations/create", _body({"organization_id": organization_id, "name": name, "metadata": metadata})))


def list_organizations(ctx: Context, /) -> Op[JSONObject]:
    return (yield from _call("GET", "/api/organizations"))


def get_organization(ctx: Context, /, organization_id: str) -> Op[JSONObject]:
    return (yield from _call("GET", f"/api/organizations/{_p(organization_id)}"))


def organization_teams(ctx: Context, /, organization_id: str) -> Op[JSONObject]:
    return (yield from _call("GET", f"/api/organizations/{_p(organization_id)}/teams"))


def organization_usage(ctx: Context, /, organization_id: str, *, period: Optional[str] = None) -> Op[JSONObject]:
    return (yield from _call("GET", f"/api/organizations/{_p(organization_id)}/usage", params={"period": period}))


# ---------------------------------------------------------------- teams


def create_team(
    ctx: Context,
    /,
    organization_id: str,
    team_id: str,
    *,
    model_groups: Sequence[str],
    credits_allocated: int,
    **fields: Any,
) -> Op[JSONObject]:
    """Create a team; the answer's ``virtual_key`` is the only time the key is shown."""
    body = _body({"organization_id": organization_id, "team_id": team_id, "model_groups": list(model_groups), "credits_allocated": credits_allocated, **fields})
    return (yield from _call("POST", "/api/teams/create", body))


def list_teams(ctx: Context, /) -> Op[JSONObject]:
    return (yield from _call("GET", "/api/teams"))


def get_team(ctx: Context, /, team_id: str) -> Op[JSONObject]:
    return (yield from _call("GET", f"/api/teams/{_p(team_id)}"))


def set_team_model_groups(ctx: Context, /, team_id: str, model_groups: Sequence[str]) -> Op[JSONObject]:
    return (yield from _call("PUT", f"/api/teams/{_p(team_id)}/model-groups", {"model_groups": list(model_groups)}))


def suspend_team(ctx: Context, /, team_id: str) -> Op[JSONObject]:
    return (yield from _call("PUT", f"/api/teams/{_p(team_id)}/suspend"))


def resume_team(ctx: Context, /, team_id: str) -> Op[JSONObject]:
    return (yield from _call("PUT", f"/api/teams/{_p(team_id)}/resume"))


def rotate_team_key(ctx: Context, /, team_id: str, *, grace_seconds: Optional[int] = None) -> Op[JSONObject]:
    return (yield from _call("POST", f"/api/teams/{_p(team_id)}/rotate-key", _body({"grace_seconds": grace_seconds})))


def set_team_limits(ctx: Context, /, team_id: str, **limits: Optional[int]) -> Op[JSONObject]:
    """``max_queued_jobs``, ``submits_per_second``, ``max_concurrent_jobs``, ``retention_days``, ``low_balance_threshold``."""
    return (yield from _call("PUT", f"/api/teams/{_p(team_id)}/limits", dict(limits)))


def team_usage(ctx: Context, /, team_id: str, *, period: Optional[str] = None) -> Op[JSONObject]:
    return (yield from _call("GET", f"/api/teams/{_p(team_id)}/usage", params={"period": period}))


# ---------------------------------------------------------------- model groups and providers


def create_model_group(
    ctx: Context, /, group_name: str, models: Sequence[Mapping[str, Any]], **fields: Any
) -> Op[JSONObject]:
    """A model group: ``models`` [{model_name, provider, priority, input/output_price_per_million?…}]."""
    body = _body({"group_name": group_name, "models": [dict(model) for model in models], **fields})
    return (yield from _call("POST", "/api/model-groups/create", body))


def list_model_groups(ctx: Context, /) -> Op[JSONObject]:
    return (yield from _call("GET", "/api/model-groups"))


def get_model_group(ctx: Context, /, group_name: str) -> Op[JSONObject]:
    return (yield from _call("GET", f"/api/model-groups/{_p(group_name)}"))


def set_model_group_models(ctx: Context, /, group_name: str, models: Sequence[Mapping[str, Any]]) -> Op[JSONObject]:
    return (yield from _call("PUT", f"/api/model-groups/{_p(group_name)}/models", {"models": [dict(m) for m in models]}))


def delete_model_group(ctx: Context, /, group_name: str) -> Op[JSONObject]:
    return (yield from _call("DELETE", f"/api/model-groups/{_p(group_name)}"))


def create_provider(ctx: Context, /, name: str, kind: str, base_url: str, api_key: str, **fields: Any) -> Op[JSONObject]:
    """A provider (``kind`` ``openai`` or ``anthropic``); its key is stored encrypted and never shown."""
    body = _body({"name": name, "kind": kind, "base_url": base_url, "api_key": api_key, **fields})
    return (yield from _call("POST", "/api/providers/create", body))


def list_providers(ctx: Context, /) -> Op[JSONObject]:
    return (yield from _call("GET", "/api/providers"))


def update_provider(ctx: Context, /, name: str, **fields: Any) -> Op[JSONObject]:
    return (yield from _call("PUT", f"/api/providers/{_p(name)}", _body(fields)))


def delete_provider(ctx: Context, /, name: str) -> Op[JSONObject]:
    return (yield from _call("DELETE", f"/api/providers/{_p(name)}"))


# ---------------------------------------------------------------- credits


def add_credits(
    ctx: Context, /, team_id: str, credits: int, *, reason: Optional[str] = None, idempotency_key: Optional[str] = None
) -> Op[JSONObject]:
    """Add credits (an automatic Idempotency-Key makes a retried add count once)."""
    return (
        yield from _call(
            "POST",
            f"/api/credits/teams/{_p(team_id)}/add",
            _body({"credits": credits, "reason": reason}),
            headers=_idempotent(idempotency_key),
            retry_safe=True,
        )
    )


def adjust_credits(ctx: Context, /, team_id: str, credits: int, reason: str) -> Op[JSONObject]:
    """A signed adjustment (409 when it would take the balance below zero)."""
    return (yield from _call("POST", f"/api/credits/teams/{_p(team_id)}/adjust", {"credits": credits, "reason": reason}))


def set_budget_mode(ctx: Context, /, team_id: str, budget_mode: str, **fields: Any) -> Op[JSONObject]:
    return (yield from _call("PATCH", f"/api/credits/teams/{_p(team_id)}/budget-mode", _body({"budget_mode": budget_mode, **fields})))


def team_balance(ctx: Context, /, team_id: str) -> Op[JSONObject]:
    return (yield from _call("GET", f"/api/credits/teams/{_p(team_id)}/balance"))


def team_transactions(
    ctx: Context, /, team_id: str, *, limit: Optional[int] = None, cursor: Optional[str] = None
) -> Op[Page[JSONObject]]:
    data = yield from _call("GET", f"/api/credits/teams/{_p(team_id)}/transactions", params={"limit": limit, "cursor": cursor})
    items, next_cursor = _page(data, "transactions")
    return Page(items, next_cursor)


# ---------------------------------------------------------------- jobs, queue, workers, audit


def list_jobs(
    ctx: Context,
    /,
    *,
    team_id: Optional[str] = None,
    status: Optional[str] = None,
    limit: Optional[int] = None,
    cursor: Optional[str] = None,
) -> Op[Page[Job]]:
    """Jobs of any team, newest first."""
    data = yield from _call("GET", "/api/admin/jobs", params={"team_id": team_id, "status": status, "limit": limit, "cursor": cursor})
    items, next_cursor = _page(data, "jobs")
    return Page([Job.from_json(item) for item in items], next_cursor)


def get_job(ctx: Context, /, job_id: str) -> Op[JSONObject]:
    """One job of any team, with its calls."""
    return (yield from _call("GET", f"/api/admin/jobs/{_p(job_id)}"))


def cancel_job(ctx: Context, /, job_id: str) -> Op[JSONObject]:
    return (yield from _call("POST", f"/api/admin/jobs/{_p(job_id)}/cancel"))


def retry_job(ctx: Context, /, job_id: str) -> Op[JSONObject]:
    """Retry a ``failed`` job (a new reservation; 402 when short)."""
    return (yield from _call("POST", f"/api/admin/jobs/{_p(job_id)}/retry"))


def queue(ctx: Context, /) -> Op[JSONObject]:
    """Per team: queued, scheduled for retry, in progress, oldest queued age; totals."""
    return (yield from _call("GET", "/api/admin/queue"))


def pause_queue(ctx: Context, /) -> Op[JSONObject]:
    return (yield from _call("POST", "/api/admin/queue/pause"))


def resume_queue(ctx: Context, /) -> Op[JSONObject]:
    return (yield from _call("POST", "/api/admin/queue/resume"))


def workers(ctx: Context, /) -> Op[JSONObject]:
    """Live workers: id, host, concurrency, in flight, started, last seen, draining."""
    return (yield from _call("GET", "/api/admin/workers"))


def drain_worker(ctx: Context, /, worker_id: str) -> Op[JSONObject]:
    return (yield from _call("POST", f"/api/admin/workers/{_p(worker_id)}/drain"))


def set_worker_concurrency(ctx: Context, /, worker_id: str, concurrency: int) -> Op[JSONObject]:
    return (yield from _call("PUT", f"/api/admin/workers/{_p(worker_id)}/concurrency", {"concurrency": concurrency}))


def audit(ctx: Context, /, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Op[JSONObject]:
    return (yield from _call("GET", "/api/admin/audit", params={"limit": limit, "cursor": cursor}))


# ---------------------------------------------------------------- webhooks of any team


def set_webhook(ctx: Context, /, team_id: str, url: str, events: Sequence[str]) -> Op[JSONObject]:
    return (yield from _call("PUT", f"/api/teams/{_p(team_id)}/webhook", {"url": url, "events": list(events)}))


def get_webhook(ctx: Context, /, team_id: str) -> Op[JSONObject]:
    return (yield from _call("GET", f"/api/teams/{_p(team_id)}/webhook"))


def delete_webhook(ctx: Context, /, team_id: str) -> Op[JSONObject]:
    return (yield from _call("DELETE", f"/api/teams/{_p(team_id)}/webhook"))


def webhook_deliveries(
    ctx: Context, /, team_id: str, *, limit: Optional[int] = None, cursor: Optional[str] = None
) -> Op[Page[JSONObject]]:
    data = yield from _call("GET", f"/api/teams/{_p(team_id)}/webhook/deliveries", params={"limit": limit, "cursor": cursor})
    items, next_cursor = _page(data, "deliveries")
    return Page(items, next_cursor)
