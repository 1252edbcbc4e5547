"""The API's answers as typed values.

Each dataclass names the fields API.md promises; ``raw`` keeps the whole JSON object, since the
contract welcomes more fields than it names. Smaller records are TypedDicts (plain dicts at run
time, typed for the reader).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Generic, Mapping, Optional, TypedDict, TypeVar

JSONObject = dict[str, Any]

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "expired"})

_T = TypeVar("_T")


def _build(cls: type[_T], data: Mapping[str, Any]) -> _T:
    """An instance of dataclass ``cls`` from a JSON object: known fields by name, the rest in ``raw``."""
    names = [f.name for f in fields(cls) if f.name != "raw"]  # type: ignore[arg-type]
    values: dict[str, Any] = {name: data.get(name) for name in names}
    values["raw"] = dict(data)
    return cls(**values)


class Usage(TypedDict, total=False):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Progress(TypedDict, total=False):
    calls_done: int
    calls_planned: int


class JobError(TypedDict, total=False):
    code: str
    message: str


class CallRecord(TypedDict, total=False):
    """One upstream call of a job (``GET /api/jobs/{id}/calls``)."""

    call_id: str
    model: str
    provider: str
    attempt: int
    status_code: Optional[int]
    error: Optional[str]
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    latency_ms: int


class Transaction(TypedDict, total=False):
    """One ledger row."""

    transaction_id: str
    transaction_type: str
    credits_amount: int
    credits_after: int
    job_id: Optional[str]
    reason: Optional[str]
    created_at: str


class Delivery(TypedDict, total=False):
    """One webhook delivery of the team's log."""

    event: str
    job_id: Optional[str]
    attempts: int
    last_status_code: Optional[int]
    delivered_at: Optional[str]


@dataclass
class Submitted:
    """A submit's answer: 202 ``queued`` with its reservation, or 200 ``pending`` (no work yet)."""

    job_id: str
    status: str
    created_at: Optional[str] = None
    credits_reserved: Optional[int] = None
    raw: JSONObject = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Submitted":
        return _build(cls, data)


@dataclass
class Job:
    """A job as ``GET /api/jobs/{id}`` answers it."""

    job_id: str
    status: str
    team_id: Optional[str] = None
    job_type: Optional[str] = None
    user_id: Optional[str] = None
    created_at: Optional[str] = None
    started_at: Optional[str] = None
    completed_at: Optional[str] = None
    expires_at: Optional[str] = None
    attempts: Optional[int] = None
    model: Optional[str] = None
    metadata: Optional[JSONObject] = None
    credits_reserved: Optional[int] = None
    credits_charged: Optional[int] = None
    progress: Optional[Progress] = None
    result: Optional[JSONObject] = None
    usage: Optional[Usage] = None
    cost_usd: Optional[float] = None
    error: Optional[JobError] = None
    content_erased_at: Optional[str] = None
    raw: JSONObject = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Job":
        return _build(cls, data)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def content(self) -> Optional[str]:
        """The result's text (a completed job), else None."""
        return (self.result or {}).get("content")


@dataclass
class BatchItem:
    """One item of a batch: a job (``job_id``…) or its refusal (``error {status, detail}``)."""

    index: int
    job_id: Optional[str] = None
    status: Optional[str] = None
    credits_reserved: Optional[int] = None
    error: Optional[JSONObject] = None
    raw: JSONObject = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None and self.job_id is not None


@dataclass
class BatchResult:
    jobs: list[BatchItem]
    raw: JSONObject = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "BatchResult":
        return cls(jobs=[_build(BatchItem, item) for item in data.get("jobs") or []], raw=dict(data))


@dataclass
class Estimate:
    credits_reserved: Optional[int] = None
    calls_planned: Optional[int] = None
    prompt_tokens_estimate: Optional[int] = None
    max_cost_usd: Optional[float] = None
    raw: JSONObject = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Estimate":
        return _build(cls, data)


@dataclass
class Balance:
    credits_allocated: Optional[int] = None
    credits_used: Optional[int] = None
    credits_reserved: Optional[int] = None
    credits_remaining: Optional[int] = None
    budget_mode: Optional[str] = None
    team_id: Optional[str] = None
    raw: JSONObject = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Balance":
        return _build(cls, data)


@dataclass
class Page(Generic[_T]):
    """One page of a list answer; pass ``next_cursor`` back as ``cursor`` for the next."""

    items: list[_T]
    next_cursor: Optional[str] = None


@dataclass
class CallResult:
    """A step-by-step call (``llm-call``): ``completed`` with its response, or still running (202)."""

    call_id: str
    status: str
    response: Optional[JSONObject] = None
    metadata: Optional[JSONObject] = None
    raw: JSONObject = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "CallResult":
        return _build(cls, data)

    @property
    def content(self) -> Optional[str]:
        return (self.response or {}).get("content")


@dataclass
class SingleCallResult:
    """``create-and-call``: the job's response, metadata and costs once done, or the job (202)."""

    job_id: str
    status: str
    response: Optional[JSONObject] = None
    metadata: Optional[JSONObject] = None
    costs: Optional[JSONObject] = None
    completed_at: Optional[str] = None
    error: Optional[JSONObject] = None
    raw: JSONObject = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "SingleCallResult":
        return _build(cls, data)

    @property
    def content(self) -> Optional[str]:
        return (self.response or {}).get("content")


@dataclass
class Completion:
    """``complete``'s answer: the settled job's costs and calls."""

    job_id: str
    status: str
    completed_at: Optional[str] = None
    costs: Optional[JSONObject] = None
    calls: Optional[list[JSONObject]] = None
    raw: JSONObject = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Completion":
        return _build(cls, data)


@dataclass
class WebhookEndpoint:
    """The team's webhook endpoint; ``secret`` (``whsec_…``) is present when it was just set."""

    url: Optional[str] = None
    events: Optional[list[str]] = None
    secret: Optional[str] = None
    raw: JSONObject = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "WebhookEndpoint":
        return _build(cls, data)


@dataclass
class ServerSentEvent:
    """One server-sent event: ``event`` is ``message`` when the stream named none."""

    event: str = "message"
    data: str = ""
    id: Optional[str] = None
    retry: Optional[int] = None

    def json(self) -> Any:
        """``data`` parsed as JSON."""
        return json.loads(self.data)
