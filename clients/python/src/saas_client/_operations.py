"""Every operation of the API, written once (see ``_core`` for how they are driven).

Each function takes the client's :class:`Context` first and returns an :data:`Op` generator
(or a :class:`StreamPlan` for the event streams); ``Client`` and ``AsyncClient`` expose them as
methods of the same names and signatures. Docstrings here are the methods' docstrings.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union
from urllib.parse import quote

from ._core import Context, Op, Request, StreamPlan
from .errors import WaitTimeoutError
from .models import (
    Balance,
    BatchResult,
    CallRecord,
    CallResult,
    Completion,
    Delivery,
    Estimate,
    Job,
    JSONObject,
    Page,
    SingleCallResult,
    Submitted,
    Transaction,
    WebhookEndpoint,
)

#: The API clamps a long poll to 60 s; a read waits this much longer for the answer.
LONG_POLL_MAX = 60.0
READ_MARGIN = 15.0

FileInput = Union[str, "os.PathLike[str]", bytes]


def _p(segment: str) -> str:
    """One path segment, escaped (ids and names are the caller's text)."""
    return quote(str(segment), safe="")


def _idempotent(key: Optional[str]) -> dict[str, str]:
    """The ``Idempotency-Key`` header: the caller's, or a fresh uuid4 shared by every retry."""
    return {"Idempotency-Key": key or str(uuid.uuid4())}


def _page(data: Any, key: str) -> tuple[list[Any], Optional[str]]:
    if not isinstance(data, dict):
        return [], None
    items: Any = data.get(key)
    if not isinstance(items, list):
        items = next((value for value in data.values() if isinstance(value, list)), [])
    cursor = data.get("next_cursor")
    return list(items), cursor if isinstance(cursor, str) else None


def team_id(ctx: Context, /) -> Op[str]:
    """The key's team id (``GET /api/me`` once, then remembered)."""
    if ctx.team_id is None:
        reply = yield Request("GET", "/api/me", retry_safe=True)
        ctx.team_id = str(reply.json()["team_id"])
    return ctx.team_id


def _submit_body(team: str, job_type: str, fields: Mapping[str, Any]) -> JSONObject:
    body: JSONObject = {"team_id": team, "job_type": job_type}
    body.update({key: value for key, value in fields.items() if value is not None})
    return body


# ---------------------------------------------------------------- team: identity and jobs


def me(ctx: Context, /) -> Op[JSONObject]:
    """The key's team: id, organization, status, model groups, balance."""
    reply = yield Request("GET", "/api/me", retry_safe=True)
    data: JSONObject = reply.json()
    ctx.team_id = data.get("team_id", ctx.team_id)
    return data


def submit(
    ctx: Context,
    /,
    job_type: str,
    *,
    model: Optional[str] = None,
    messages: Optional[Sequence[Mapping[str, Any]]] = None,
    document: Optional[str] = None,
    instructions: Optional[str] = None,
    idempotency_key: Optional[str] = None,
    **fields: Any,
) -> Op[Submitted]:
    """Submit a job (``POST /api/jobs/create``): 202 ``queued`` with work, 200 ``pending`` without.

    ``fields`` are the other submit fields of API.md (``metadata``, ``max_tokens``, ``priority``,
    ``response_format``, ``webhook``…). An ``Idempotency-Key`` is sent on every submit (a uuid4
    unless given), so the retries of 503s and dropped connections never make a second job.
    """
    team = yield from team_id(ctx)
    body = _submit_body(
        team, job_type, {"model": model, "messages": messages, "document": document, "instructions": instructions, **fields}
    )
    reply = yield Request("POST", "/api/jobs/create", json=body, headers=_idempotent(idempotency_key), retry_safe=True)
    return Submitted.from_json(reply.json())


def submit_document(
    ctx: Context,
    /,
    file: FileInput,
    *,
    model: str,
    job_type: str = "document_analysis",
    filename: Optional[str] = None,
    instructions: Optional[str] = None,
    idempotency_key: Optional[str] = None,
    **fields: Any,
) -> Op[Submitted]:
    """Upload a document file (PDF, DOCX, ODT, HTML, Markdown, text) as a job (docs/DOCUMENTS.md).

    ``file`` is a path or the bytes themselves; the ``job`` part (sent first, so a bad submit is
    refused before the file is stored) holds ``model``, ``job_type`` and ``fields``.
    """
    team = yield from team_id(ctx)
    if isinstance(file, bytes):
        content, name = file, filename or "document"
    else:
        path = Path(os.fspath(file))
        content, name = path.read_bytes(), filename or path.name
    job = _submit_body(team, job_type, {"model": model, "instructions": instructions, **fields})
    import json

    files = [
        ("job", (None, json.dumps(job).encode("utf-8"), "application/json")),
        ("file", (name, content, "application/octet-stream")),
    ]
    reply = yield Request("POST", "/api/jobs/create", files=files, headers=_idempotent(idempotency_key), retry_safe=True)
    return Submitted.from_json(reply.json())


def submit_batch(
    ctx: Context,
    /,
    jobs: Sequence[Mapping[str, Any]],
    *,
    all_or_nothing: bool = False,
    idempotency_key: Optional[str] = None,
) -> Op[BatchResult]:
    """Submit up to 1,000 jobs in one request (``POST /api/jobs/batch``); each item answers alone.

    Each item is a submit body; its ``team_id`` is filled in when absent. One Idempotency-Key
    covers the batch (a replay answers the same).
    """
    team = yield from team_id(ctx)
    items = [{"team_id": team, **job} for job in jobs]
    body: JSONObject = {"jobs": items}
    if all_or_nothing:
        body["all_or_nothing"] = True
    reply = yield Request("POST", "/api/jobs/batch", json=body, headers=_idempotent(idempotency_key), retry_safe=True)
    return BatchResult.from_json(reply.json())


def estimate(
    ctx: Context,
    /,
    job_type: str,
    *,
    model: Optional[str] = None,
    messages: Optional[Sequence[Mapping[str, Any]]] = None,
    document: Optional[str] = None,
    instructions: Optional[str] = None,
    **fields: Any,
) -> Op[Estimate]:
    """What a submit of this body would reserve, its planned calls and worst-case cost; stores nothing."""
    team = yield from team_id(ctx)
    body = _submit_body(
        team, job_type, {"model": model, "messages": messages, "document": document, "instructions": instructions, **fields}
    )
    reply = yield Request("POST", "/api/jobs/estimate", json=body, retry_safe=True)
    return Estimate.from_json(reply.json())


def get(ctx: Context, /, job_id: str, *, wait: Optional[float] = None) -> Op[Job]:
    """The job; with ``wait`` (seconds, at most 60) the API answers as soon as it is terminal."""
    if wait is not None:
        wait = round(min(max(float(wait), 0.0), LONG_POLL_MAX), 3)
    timeout = None if wait is None else wait + READ_MARGIN
    reply = yield Request("GET", f"/api/jobs/{_p(job_id)}", params={"wait": wait}, retry_safe=True, read_timeout=timeout)
    return Job.from_json(reply.json())


def wait(ctx: Context, /, job_id: str, *, timeout: float = 600.0, poll: float = LONG_POLL_MAX) -> Op[Job]:
    """Long-poll the job until it is terminal; :class:`WaitTimeoutError` (holding the job) after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        job = yield from get(ctx, job_id, wait=max(0.0, min(poll, remaining, LONG_POLL_MAX)))
        if job.is_terminal:
            return job
        if deadline - time.monotonic() <= 0:
            raise WaitTimeoutError(job)


def cancel(ctx: Context, /, job_id: str) -> Op[Job]:
    """Cancel the job: ``cancelled`` (``cancelling`` while a call is in flight); a terminal job is a 409."""
    reply = yield Request("POST", f"/api/jobs/{_p(job_id)}/cancel")
    return Job.from_json(reply.json())


def delete(ctx: Context, /, job_id: str) -> Op[Job]:
    """Erase a finished job's contents (request, document, result, calls); ids, usage and costs stay."""
    reply = yield Request("DELETE", f"/api/jobs/{_p(job_id)}", retry_safe=True)
    return Job.from_json(reply.json())


def calls(ctx: Context, /, job_id: str) -> Op[list[CallRecord]]:
    """The job's upstream calls: model, provider, attempt, status code, tokens, cost, latency, error."""
    reply = yield Request("GET", f"/api/jobs/{_p(job_id)}/calls", retry_safe=True)
    items, _ = _page(reply.json(), "calls")
    return items


def list_jobs(
    ctx: Context, /, *, status: Optional[str] = None, limit: Optional[int] = None, cursor: Optional[str] = None
) -> Op[Page[Job]]:
    """The team's jobs, newest first."""
    team = yield from team_id(ctx)
    reply = yield Request(
        "GET", f"/api/teams/{_p(team)}/jobs", params={"status": status, "limit": limit, "cursor": cursor}, retry_safe=True
    )
    items, cursor_ = _page(reply.json(), "jobs")
    return Page([Job.from_json(item) for item in items], cursor_)


def document(ctx: Context, /, job_id: str) -> Op[JSONObject]:
    """An uploaded document's extracted pages (``GET /api/jobs/{id}/document``)."""
    reply = yield Request("GET", f"/api/jobs/{_p(job_id)}/document", retry_safe=True)
    result: JSONObject = reply.json()
    return result


# ---------------------------------------------------------------- team: step by step


def llm_call(
    ctx: Context,
    /,
    job_id: str,
    *,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    wait: Optional[float] = None,
    purpose: Optional[str] = None,
    call_metadata: Optional[Mapping[str, Any]] = None,
    **fields: Any,
) -> Op[CallResult]:
    """One call on a step-by-step job; answers once done (or 202 ``queued``/``in_progress`` after ``wait``)."""
    body: JSONObject = {"model": model, "messages": list(messages), "purpose": purpose, "call_metadata": call_metadata}
    body.update(fields)
    body = {key: value for key, value in body.items() if value is not None}
    reply = yield Request(
        "POST",
        f"/api/jobs/{_p(job_id)}/llm-call",
        params={"wait": wait},
        json=body,
        read_timeout=(120.0 if wait is None else float(wait)) + READ_MARGIN,
    )
    return CallResult.from_json(reply.json())


def get_call(ctx: Context, /, job_id: str, call_id: str, *, wait: Optional[float] = None) -> Op[CallResult]:
    """A step-by-step call as ``llm_call`` answers it."""
    timeout = None if wait is None else float(wait) + READ_MARGIN
    reply = yield Request(
        "GET", f"/api/jobs/{_p(job_id)}/calls/{_p(call_id)}", params={"wait": wait}, retry_safe=True, read_timeout=timeout
    )
    return CallResult.from_json(reply.json())


def complete(
    ctx: Context,
    /,
    job_id: str,
    status: str = "completed",
    *,
    metadata: Optional[Mapping[str, Any]] = None,
    error_message: Optional[str] = None,
) -> Op[Completion]:
    """Settle a step-by-step job once (``completed`` or ``failed``); again answers the same, charging nothing."""
    body: JSONObject = {"status": status}
    if metadata is not None:
        body["metadata"] = dict(metadata)
    if error_message is not None:
        body["error_message"] = error_message
    reply = yield Request("POST", f"/api/jobs/{_p(job_id)}/complete", json=body, retry_safe=True)
    return Completion.from_json(reply.json())


def create_and_call(
    ctx: Context,
    /,
    job_type: str,
    *,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    wait: Optional[float] = None,
    idempotency_key: Optional[str] = None,
    **fields: Any,
) -> Op[SingleCallResult]:
    """A job with one chat call, answered once done (or the job, ``queued``…, when ``wait`` ran out)."""
    team = yield from team_id(ctx)
    body = _submit_body(team, job_type, {"model": model, "messages": list(messages), **fields})
    reply = yield Request(
        "POST",
        "/api/jobs/create-and-call",
        params={"wait": wait},
        json=body,
        headers=_idempotent(idempotency_key),
        retry_safe=True,
        read_timeout=(120.0 if wait is None else float(wait)) + READ_MARGIN,
    )
    return SingleCallResult.from_json(reply.json())


def patch_metadata(ctx: Context, /, job_id: str, metadata: Mapping[str, Any]) -> Op[JSONObject]:
    """Merge ``metadata`` into the job's (shallow)."""
    reply = yield Request("PATCH", f"/api/jobs/{_p(job_id)}/metadata", json={"metadata": dict(metadata)}, retry_safe=True)
    result: JSONObject = reply.json()
    return result


def costs(ctx: Context, /, job_id: str) -> Op[JSONObject]:
    """A step-by-step job's costs with a per-call breakdown."""
    reply = yield Request("GET", f"/api/jobs/{_p(job_id)}/costs", retry_safe=True)
    result: JSONObject = reply.json()
    return result


# ---------------------------------------------------------------- team: streams


def _stream_headers(last_event_id: Optional[str]) -> dict[str, str]:
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    return headers


def stream(ctx: Context, /, job_id: str, *, last_event_id: Optional[str] = None) -> Op[StreamPlan]:
    """The job's status events (``GET /api/jobs/{id}/events``), ending with its terminal status.

    A dropped connection is reopened with ``Last-Event-ID`` (bounded by the retry policy).
    """
    yield from ()
    first = Request("GET", f"/api/jobs/{_p(job_id)}/events", headers=_stream_headers(last_event_id), retry_safe=True)
    return StreamPlan(first, "job", job_id=job_id)


def llm_call_stream(
    ctx: Context,
    /,
    job_id: str,
    *,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    purpose: Optional[str] = None,
    call_metadata: Optional[Mapping[str, Any]] = None,
    **fields: Any,
) -> Op[StreamPlan]:
    """``llm_call`` as events: ``message`` deltas (``{"delta", "index"}``), then ``done`` or ``error``."""
    yield from ()
    body: JSONObject = {"model": model, "messages": list(messages), "purpose": purpose, "call_metadata": call_metadata}
    body.update(fields)
    body = {key: value for key, value in body.items() if value is not None}
    first = Request("POST", f"/api/jobs/{_p(job_id)}/llm-call-stream", json=body, headers=_stream_headers(None))
    return StreamPlan(first, "call", job_id=job_id)


def create_and_call_stream(
    ctx: Context,
    /,
    job_type: str,
    *,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    idempotency_key: Optional[str] = None,
    **fields: Any,
) -> Op[StreamPlan]:
    """``create_and_call`` as events: deltas, then ``done`` with the response, usage and costs, or ``error``.

    The submit carries an Idempotency-Key; a drop is resumed from the job's stream (``X-Job-Id``).
    """
    team = yield from team_id(ctx)
    body = _submit_body(team, job_type, {"model": model, "messages": list(messages), **fields})
    headers = {**_stream_headers(None), **_idempotent(idempotency_key)}
    first = Request("POST", "/api/jobs/create-and-call-stream", json=body, headers=headers, retry_safe=True)
    return StreamPlan(first, "call")


def resume_stream(
    ctx: Context, /, job_id: str, *, call_id: Optional[str] = None, last_event_id: Optional[str] = None
) -> Op[StreamPlan]:
    """Reopen a call's stream after ``last_event_id``: a step-by-step call's (``call_id``) or a create-and-call job's."""
    yield from ()
    headers = _stream_headers(last_event_id)
    if call_id is not None:
        first = Request("GET", f"/api/jobs/{_p(job_id)}/calls/{_p(call_id)}/stream", headers=headers, retry_safe=True)
    else:
        first = Request("GET", f"/api/jobs/{_p(job_id)}/stream", headers=headers, retry_safe=True)
    return StreamPlan(first, "call", job_id=job_id, call_id=call_id)


# ---------------------------------------------------------------- team: credits, usage, webhook


def balance(ctx: Context, /) -> Op[Balance]:
    """The team's credits: allocated, used, reserved, remaining, budget mode."""
    team = yield from team_id(ctx)
    reply = yield Request("GET", f"/api/credits/teams/{_p(team)}/balance", retry_safe=True)
    return Balance.from_json(reply.json())


def transactions(ctx: Context, /, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Op[Page[Transaction]]:
    """The team's ledger rows, newest first."""
    team = yield from team_id(ctx)
    reply = yield Request(
        "GET", f"/api/credits/teams/{_p(team)}/transactions", params={"limit": limit, "cursor": cursor}, retry_safe=True
    )
    items, cursor_ = _page(reply.json(), "transactions")
    return Page(items, cursor_)


def usage(ctx: Context, /, *, period: Optional[str] = None) -> Op[JSONObject]:
    """The team's usage for ``period`` (``YYYY-MM`` or ``YYYY-MM-DD``, UTC)."""
    team = yield from team_id(ctx)
    reply = yield Request("GET", f"/api/teams/{_p(team)}/usage", params={"period": period}, retry_safe=True)
    result: JSONObject = reply.json()
    return result


def set_webhook(ctx: Context, /, url: str, events: Sequence[str]) -> Op[WebhookEndpoint]:
    """Register the team's webhook endpoint; the answer holds its new ``secret`` (``whsec_…``)."""
    team = yield from team_id(ctx)
    reply = yield Request("PUT", f"/api/teams/{_p(team)}/webhook", json={"url": url, "events": list(events)}, retry_safe=True)
    return WebhookEndpoint.from_json(reply.json())


def get_webhook(ctx: Context, /) -> Op[WebhookEndpoint]:
    """The team's webhook endpoint."""
    team = yield from team_id(ctx)
    reply = yield Request("GET", f"/api/teams/{_p(team)}/webhook", retry_safe=True)
    return WebhookEndpoint.from_json(reply.json())


def delete_webhook(ctx: Context, /) -> Op[Optional[JSONObject]]:
    """Remove the team's webhook endpoint."""
    team = yield from team_id(ctx)
    reply = yield Request("DELETE", f"/api/teams/{_p(team)}/webhook", retry_safe=True)
    result: Optional[JSONObject] = reply.json()
    return result


def webhook_deliveries(ctx: Context, /, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> Op[Page[Delivery]]:
    """The team's webhook deliveries: event, job, attempts, last status code, delivered at."""
    team = yield from team_id(ctx)
    reply = yield Request(
        "GET", f"/api/teams/{_p(team)}/webhook/deliveries", params={"limit": limit, "cursor": cursor}, retry_safe=True
    )
    items, cursor_ = _page(reply.json(), "deliveries")
    return Page(items, cursor_)
