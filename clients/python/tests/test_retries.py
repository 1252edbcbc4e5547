"""Retries, errors, wait and streams against ``httpx.MockTransport`` (no network)."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator, AsyncIterator

import httpx
import pytest

from saas_client import (
    AsyncClient,
    Client,
    ConflictError,
    InsufficientCreditsError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServiceUnavailableError,
    StreamInterruptedError,
    TransportError,
    WaitTimeoutError,
)

BASE = "http://api.test"
TEAM = "team-a"
JOB = "11111111-1111-4111-8111-111111111111"


class Recorder:
    """The requests a handler saw, and the sleeps a client asked for."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def answers(recorder: Recorder, *replies: Callable[[httpx.Request], httpx.Response] | httpx.Response | Exception) -> httpx.MockTransport:
    """A transport answering each request with the next reply (the last one repeats)."""
    queue = list(replies)

    def handler(request: httpx.Request) -> httpx.Response:
        recorder.requests.append(request)
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    return httpx.MockTransport(handler)


def submitted() -> httpx.Response:
    return httpx.Response(202, json={"job_id": JOB, "status": "queued", "created_at": "2026-11-29T00:00:00Z", "credits_reserved": 3})


def refusal(status: int, detail: str, retry_after: str | None = None) -> httpx.Response:
    headers = {"X-Request-Id": f"req-{status}"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return httpx.Response(status, json={"detail": detail}, headers=headers)


def client(recorder: Recorder, transport: httpx.MockTransport, **policy: Any) -> Client:
    return Client(BASE, "sk-test", team_id=TEAM, transport=transport, sleep=recorder.sleep, retry=RetryPolicy(**policy))


def test_submit_retries_503_after_retry_after_with_one_idempotency_key() -> None:
    rec = Recorder()
    c = client(rec, answers(rec, refusal(503, "The database is busy; retry after 1 second", "2"), submitted()))
    job = c.submit("chat", model="default", messages=[{"role": "user", "content": "hi"}])
    assert job.job_id == JOB and job.status == "queued" and job.credits_reserved == 3
    assert rec.sleeps == [2.0]
    keys = {r.headers["Idempotency-Key"] for r in rec.requests}
    assert len(rec.requests) == 2 and len(keys) == 1
    body = json.loads(rec.requests[0].content)
    assert body == {"team_id": TEAM, "job_type": "chat", "model": "default", "messages": [{"role": "user", "content": "hi"}]}


def test_the_callers_idempotency_key_is_sent() -> None:
    rec = Recorder()
    client(rec, answers(rec, submitted())).submit("chat", model="m", document="text", idempotency_key="my-key")
    assert rec.requests[0].headers["Idempotency-Key"] == "my-key"


def test_429_is_retried_for_any_request_honouring_retry_after() -> None:
    rec = Recorder()
    job = {"job_id": JOB, "status": "cancelled"}
    c = client(rec, answers(rec, refusal(429, "Rate limit exceeded: submits_per_second", "1"), httpx.Response(200, json=job)))
    assert c.cancel(JOB).status == "cancelled"
    assert rec.sleeps == [1.0] and len(rec.requests) == 2


def test_503_on_a_request_that_is_not_idempotent_is_not_retried() -> None:
    rec = Recorder()
    c = client(rec, answers(rec, refusal(503, "busy", "1")))
    with pytest.raises(ServiceUnavailableError) as caught:
        c.cancel(JOB)
    assert (caught.value.status, caught.value.detail, caught.value.request_id) == (503, "busy", "req-503")
    assert caught.value.retry_after == 1.0 and rec.sleeps == [] and len(rec.requests) == 1


def test_network_errors_retry_submits_and_connects_but_not_other_posts() -> None:
    rec = Recorder()
    c = client(rec, answers(rec, httpx.ReadError("reset"), submitted()), backoff_base=0.1)
    assert c.submit("chat", model="m", document="d").job_id == JOB
    assert len(rec.requests) == 2 and rec.requests[0].headers["Idempotency-Key"] == rec.requests[1].headers["Idempotency-Key"]
    assert len(rec.sleeps) == 1 and 0 <= rec.sleeps[0] <= 0.1

    rec = Recorder()
    c = client(rec, answers(rec, httpx.ConnectError("refused"), httpx.Response(200, json={"job_id": JOB, "status": "cancelled"})))
    assert c.cancel(JOB).status == "cancelled"  # never sent: safe to send again

    rec = Recorder()
    c = client(rec, answers(rec, httpx.ReadError("reset")))
    with pytest.raises(TransportError):
        c.cancel(JOB)  # sent, outcome unknown, not idempotent: not sent again
    assert len(rec.requests) == 1


def test_retries_are_bounded_by_attempts() -> None:
    rec = Recorder()
    c = client(rec, answers(rec, refusal(503, "busy", "0.5")), max_attempts=3)
    with pytest.raises(ServiceUnavailableError):
        c.get(JOB)
    assert len(rec.requests) == 3 and rec.sleeps == [0.5, 0.5]


def test_retries_are_bounded_by_total_wait_and_by_one_retry_after() -> None:
    rec = Recorder()
    c = client(rec, answers(rec, refusal(429, "slow down", "10")), max_total_wait=15)
    with pytest.raises(RateLimitError):
        c.get(JOB)
    assert rec.sleeps == [10.0] and len(rec.requests) == 2

    rec = Recorder()
    c = client(rec, answers(rec, refusal(429, "slow down", "120")), max_retry_after=30)
    with pytest.raises(RateLimitError) as caught:
        c.get(JOB)
    assert rec.sleeps == [] and caught.value.retry_after == 120.0


def test_backoff_without_retry_after_is_jittered_and_capped() -> None:
    policy = RetryPolicy(backoff_base=1, backoff_cap=3, max_attempts=10, max_total_wait=100)
    from saas_client._core import Request

    request = Request("GET", "/x", retry_safe=True)
    assert [policy.delay(request, n, 0, status=503, rng=lambda: 1.0) for n in (1, 2, 3, 4)] == [1, 2, 3, 3]
    assert policy.delay(request, 1, 0, status=503, rng=lambda: 0.0) == 0
    assert policy.delay(request, 1, 0, status=500) is None
    assert policy.delay(request, 10, 0, status=503) is None


def test_errors_carry_status_detail_and_request_id() -> None:
    rec = Recorder()
    c = client(rec, answers(rec, refusal(402, "Insufficient credits: 0 remaining, 3 needed")))
    with pytest.raises(InsufficientCreditsError) as caught:
        c.submit("chat", model="m", document="d")
    assert caught.value.detail == "Insufficient credits: 0 remaining, 3 needed" and caught.value.request_id == "req-402"

    rec = Recorder()
    c = client(rec, answers(rec, refusal(409, "Job is already completed")))
    with pytest.raises(ConflictError, match="Job is already completed"):
        c.cancel(JOB)

    rec = Recorder()
    c = client(rec, answers(rec, httpx.Response(404, text="nope")))
    with pytest.raises(NotFoundError) as missing:
        c.get(JOB)
    assert missing.value.detail == "nope"


def test_team_id_is_learned_from_me_once() -> None:
    rec = Recorder()

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/me":
            return httpx.Response(200, json={"team_id": "learned"})
        return httpx.Response(200, json={"credits_remaining": 5, "budget_mode": "job_based"})

    c = Client(BASE, "sk", transport=answers(rec, route), sleep=rec.sleep)
    assert c.balance().credits_remaining == 5
    c.balance()
    assert [r.url.path for r in rec.requests] == ["/api/me", "/api/credits/teams/learned/balance", "/api/credits/teams/learned/balance"]
    assert rec.requests[0].headers["Authorization"] == "Bearer sk"


def test_submit_document_sends_the_job_part_first_then_the_file() -> None:
    rec = Recorder()
    c = client(rec, answers(rec, submitted()))
    c.submit_document(b"%PDF-1.4 bytes", model="default", filename="a.pdf", instructions="Summarise")
    request = rec.requests[0]
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = request.content
    job_at, file_at = body.index(b'name="job"'), body.index(b'name="file"; filename="a.pdf"')
    assert job_at < file_at and b"%PDF-1.4 bytes" in body
    assert b'"model": "default"' in body and b'"job_type": "document_analysis"' in body
    assert "Idempotency-Key" in request.headers


def job_json(status: str) -> dict[str, Any]:
    return {"job_id": JOB, "status": status, "result": {"content": "done"} if status == "completed" else None}


def test_wait_long_polls_until_terminal() -> None:
    rec = Recorder()
    c = client(rec, answers(rec, httpx.Response(200, json=job_json("queued")), httpx.Response(200, json=job_json("in_progress")), httpx.Response(200, json=job_json("completed"))))
    job = c.wait(JOB, timeout=300)
    assert job.status == "completed" and job.content == "done" and job.is_terminal
    assert [r.url.params["wait"] for r in rec.requests] == ["60.0"] * 3


def test_wait_raises_at_its_deadline_with_the_job() -> None:
    rec = Recorder()
    c = client(rec, answers(rec, httpx.Response(200, json=job_json("queued"))))
    with pytest.raises(WaitTimeoutError) as caught:
        c.wait(JOB, timeout=0)
    assert caught.value.job.status == "queued" and len(rec.requests) == 1


class Dropping(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that sends ``chunks`` then drops the connection (or ends, ``drop=False``)."""

    def __init__(self, chunks: list[bytes], drop: bool = True) -> None:
        self.chunks, self.drop = chunks, drop

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.drop:
            raise httpx.ReadError("connection reset")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.drop:
            raise httpx.ReadError("connection reset")


def sse(*events: tuple[str, str, dict[str, Any]]) -> list[bytes]:
    return [f"id: {i}\nevent: {e}\ndata: {json.dumps(d)}\n\n".encode() for i, e, d in events]


def event_stream(chunks: list[bytes], drop: bool = True, headers: dict[str, str] | None = None) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, headers={"Content-Type": "text/event-stream", **(headers or {})}, stream=Dropping(chunks, drop))


JOB_EVENTS_FIRST = sse(("queued.0.0.0", "status", {"status": "queued"}), ("in_progress.0.0.1", "status", {"status": "in_progress"}))
JOB_EVENTS_REST = sse(("completed.1.1.1", "status", {"status": "completed", "result": {"content": "x"}}))


def test_job_stream_resumes_with_last_event_id_after_a_drop() -> None:
    rec = Recorder()
    c = client(rec, answers(rec, event_stream([b": keep-alive\n\n", *JOB_EVENTS_FIRST]), event_stream(JOB_EVENTS_REST, drop=False)))
    statuses = [event.json()["status"] for event in c.stream(JOB)]
    assert statuses == ["queued", "in_progress", "completed"]
    assert [r.url.path for r in rec.requests] == [f"/api/jobs/{JOB}/events"] * 2
    assert "Last-Event-ID" not in rec.requests[0].headers
    assert rec.requests[1].headers["Last-Event-ID"] == "in_progress.0.0.1"
    assert len(rec.sleeps) == 1


def test_stream_reconnects_are_bounded() -> None:
    rec = Recorder()
    c = client(rec, answers(rec, event_stream(JOB_EVENTS_FIRST)), max_stream_reconnects=2)
    with pytest.raises(StreamInterruptedError):
        list(c.stream(JOB))
    assert len(rec.requests) == 3


def test_create_and_call_stream_resumes_from_the_jobs_stream() -> None:
    rec = Recorder()
    deltas = sse(("1-0", "message", {"delta": "Hel", "index": 0}), ("1-1", "message", {"delta": "lo", "index": 1}))
    done = sse(("1-2", "done", {"job_id": JOB, "status": "completed"}))
    c = client(rec, answers(rec, event_stream(deltas, headers={"X-Job-Id": JOB}), event_stream(done, drop=False)))
    events = list(c.create_and_call_stream("chat", model="m", messages=[{"role": "user", "content": "hi"}]))
    assert [e.event for e in events] == ["message", "message", "done"]
    assert "".join(e.json()["delta"] for e in events[:2]) == "Hello"
    assert rec.requests[0].method == "POST" and "Idempotency-Key" in rec.requests[0].headers
    assert (rec.requests[1].method, rec.requests[1].url.path) == ("GET", f"/api/jobs/{JOB}/stream")
    assert rec.requests[1].headers["Last-Event-ID"] == "1-1"


def test_llm_call_stream_resumes_from_the_calls_stream() -> None:
    rec = Recorder()
    call = "22222222-2222-4222-8222-222222222222"
    deltas = sse(("5-0", "message", {"delta": "a", "index": 0}))
    done = sse(("5-1", "done", {"call_id": call, "status": "completed"}))
    c = client(rec, answers(rec, event_stream(deltas, headers={"X-Job-Id": JOB, "X-Call-Id": call}), event_stream(done, drop=False)))
    events = list(c.llm_call_stream(JOB, model="m", messages=[{"role": "user", "content": "hi"}]))
    assert [e.event for e in events] == ["message", "done"]
    assert rec.requests[1].url.path == f"/api/jobs/{JOB}/calls/{call}/stream"
    assert rec.requests[1].headers["Last-Event-ID"] == "5-0"


async def test_async_client_retries_and_resumes_the_same_way() -> None:
    rec = Recorder()
    transport = answers(
        rec,
        refusal(503, "busy", "2"),
        submitted(),
        event_stream(JOB_EVENTS_FIRST),
        event_stream(JOB_EVENTS_REST, drop=False),
    )
    async with AsyncClient(BASE, "sk", team_id=TEAM, transport=transport, sleep=rec.asleep) as c:
        job = await c.submit("chat", model="m", document="d")
        assert job.job_id == JOB
        statuses = [event.json()["status"] async for event in c.stream(job.job_id)]
    assert statuses == ["queued", "in_progress", "completed"]
    assert rec.sleeps[0] == 2.0 and len(rec.sleeps) == 2
    assert rec.requests[0].headers["Idempotency-Key"] == rec.requests[1].headers["Idempotency-Key"]
    assert rec.requests[3].headers["Last-Event-ID"] == "in_progress.0.0.1"


async def test_async_errors_are_the_same_exceptions() -> None:
    rec = Recorder()
    async with AsyncClient(BASE, "sk", team_id=TEAM, transport=answers(rec, refusal(404, "Job not found")), sleep=rec.asleep) as c:
        with pytest.raises(NotFoundError) as caught:
            await c.get(JOB)
    assert caught.value.detail == "Job not found" and caught.value.request_id == "req-404"


def test_a_job_stream_resumed_after_its_terminal_event_ends_at_once() -> None:
    rec = Recorder()
    c = client(rec, answers(rec, event_stream([], drop=False)))
    assert list(c.stream(JOB, last_event_id="completed.1.1.1")) == []
    assert len(rec.requests) == 1 and rec.requests[0].headers["Last-Event-ID"] == "completed.1.1.1"
