"""The core both clients share: requests as values, the retry policy, and stream plans.

Every API operation is written once, in ``_operations``, as a generator that yields the
:class:`Request` values it needs and receives each :class:`Reply` back (a "sans-I/O" design).
``Client`` drives those generators with blocking httpx calls and ``AsyncClient`` with awaited
ones; neither holds any logic of its own beyond sending bytes and sleeping, so the two cannot
drift apart. The retry decision (:meth:`RetryPolicy.delay`) is a pure function for the same
reason, and so that it can be tested without a network.
"""

from __future__ import annotations

import json as _json
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Mapping, Optional, TypeVar

from .errors import StreamInterruptedError
from .models import TERMINAL_STATUSES, ServerSentEvent

T = TypeVar("T")

#: Files of a multipart body, as httpx takes them: (field, (filename, bytes, content type)).
Files = list[tuple[str, tuple[Optional[str], bytes, str]]]


class _NoBody:
    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()


@dataclass
class Request:
    """One HTTP request of an operation, before any I/O."""

    method: str
    path: str
    params: Optional[dict[str, Any]] = None
    json: Any = NO_BODY
    files: Optional[Files] = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Whether a 503 or a connection lost after sending may be retried: true for GET/PUT/DELETE,
    #: for a request carrying an Idempotency-Key, and for operations the API settles once.
    retry_safe: bool = False
    #: The read timeout for this request, when longer than the client's (long polls, waits).
    read_timeout: Optional[float] = None

    def query(self) -> Optional[dict[str, Any]]:
        """``params`` without the Nones (an absent option is not sent)."""
        if not self.params:
            return None
        return {key: value for key, value in self.params.items() if value is not None} or None


@dataclass
class Reply:
    """A 2xx answer, as the operation sees it."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        return _json.loads(self.content) if self.content else None


#: An operation: yields requests, receives their replies, returns its answer.
Op = Generator[Request, Reply, T]


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before sending a request again. Everything is bounded.

    - 429 (a bound of the caller, answered before anything is done) is retried for any request;
      503 and a connection lost after the request was sent only for ``retry_safe`` requests
      (submits carry an automatic Idempotency-Key, so a retried submit never makes two jobs);
      a connection that was never established is retried for any request.
    - ``Retry-After`` is honoured when the answer carries it; one longer than
      ``max_retry_after`` is not waited for (the error is raised with its ``retry_after``).
      Without it: exponential backoff with full jitter from ``backoff_base``, capped at ``backoff_cap``.
    - At most ``max_attempts`` sends, and at most ``max_total_wait`` seconds asleep in all.
    """

    max_attempts: int = 5
    max_total_wait: float = 60.0
    max_retry_after: float = 30.0
    backoff_base: float = 0.25
    backoff_cap: float = 8.0
    #: How many times an event stream that dropped before its final event is reopened.
    max_stream_reconnects: int = 5

    def delay(
        self,
        request: Request,
        attempt: int,
        waited: float,
        *,
        status: Optional[int] = None,
        retry_after: Optional[float] = None,
        network_error: bool = False,
        never_sent: bool = False,
        rng: Callable[[], float] = random.random,
    ) -> Optional[float]:
        """Seconds to sleep before attempt ``attempt + 1``, or None to give up.

        ``attempt`` counts the sends made so far (from 1), ``waited`` the seconds slept so far.
        """
        if attempt >= self.max_attempts:
            return None
        if network_error:
            if not (never_sent or request.retry_safe):
                return None
        elif status == 429:
            pass
        elif status == 503:
            if not request.retry_safe:
                return None
        else:
            return None
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            wait = retry_after
        else:
            wait = rng() * float(min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1))))
        if waited + wait > self.max_total_wait:
            return None
        return wait

    def reconnect_delay(self, reconnects: int) -> float:
        """The pause before reopening a dropped stream (``reconnects`` from 1)."""
        return float(min(self.backoff_cap, self.backoff_base * (2 ** (reconnects - 1))))


@dataclass
class Context:
    """What a client knows across operations: the key's team, learned from ``/api/me`` once."""

    team_id: Optional[str] = None


class StreamPlan:
    """How to open an event stream, when it is over, and how to resume it after a drop.

    A stream is over at its final event: a job's terminal ``status`` event, or a call's ``done``
    or ``error``. Anything else that ends it (a reset, a proxy's timeout, a server restart) is a
    drop: the driver asks :meth:`resume` for a request carrying ``Last-Event-ID`` and goes on.
    The POST routes answer ``X-Job-Id`` / ``X-Call-Id``; their resumption is a GET of that job's
    or call's stream, so nothing is submitted twice.
    """

    def __init__(self, first: Request, kind: str, job_id: Optional[str] = None, call_id: Optional[str] = None) -> None:
        self.first = first
        self.kind = kind  # "job" (status events) or "call" (deltas, then done/error)
        self.job_id = job_id
        self.call_id = call_id

    def opened(self, headers: Mapping[str, str]) -> None:
        self.job_id = headers.get("x-job-id") or self.job_id
        self.call_id = headers.get("x-call-id") or self.call_id

    def is_final(self, event: ServerSentEvent) -> bool:
        if self.kind == "job":
            if event.event != "status":
                return False
            try:
                data = event.json()
            except ValueError:
                return False
            return isinstance(data, dict) and data.get("status") in TERMINAL_STATUSES
        return event.event in ("done", "error")

    def ended(self, last_event_id: Optional[str]) -> bool:
        """Whether a stream that closed cleanly after ``last_event_id`` is over rather than dropped.

        A job's event id is its snapshot (``<status>.<done>.<planned>.<attempts>``): resumed
        after a terminal one, the API ends the stream at once, with nothing more to send.
        """
        if self.kind != "job" or last_event_id is None:
            return False
        return last_event_id.split(".", 1)[0] in TERMINAL_STATUSES

    def resume(self, last_event_id: Optional[str]) -> Request:
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        if self.kind == "job":
            return Request("GET", f"/api/jobs/{self.job_id}/events", headers=headers, retry_safe=True)
        if self.job_id and self.call_id:
            return Request("GET", f"/api/jobs/{self.job_id}/calls/{self.call_id}/stream", headers=headers, retry_safe=True)
        if self.job_id and self.first.path.endswith("/create-and-call-stream"):
            return Request("GET", f"/api/jobs/{self.job_id}/stream", headers=headers, retry_safe=True)
        if self.first.retry_safe or last_event_id is not None:
            # The POST again: a replay under its Idempotency-Key, or (llm-call-stream) a
            # reconnect the API recognises by Last-Event-ID and answers from the same call.
            return Request(
                self.first.method,
                self.first.path,
                params=self.first.params,
                json=self.first.json,
                headers={**self.first.headers, **headers},
                retry_safe=self.first.retry_safe,
            )
        raise StreamInterruptedError("the stream dropped before it said which call it was; it cannot be resumed safely")
