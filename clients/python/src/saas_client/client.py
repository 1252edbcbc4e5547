"""The blocking clients: :class:`Client` (a team's key) and :class:`AdminClient` (the admin key).

They drive the operations of ``_operations`` / ``_admin_operations`` with ``httpx.Client``; the
methods are those operations, bound one by one below (``AsyncClient`` binds the same list).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Concatenate, Iterator, Mapping, Optional, ParamSpec, TypeVar

import httpx

from . import _admin_operations as admin_ops
from . import _operations as ops
from ._core import Context, Op, Reply, Request, RetryPolicy, StreamPlan
from ._http import USER_AGENT, arguments, default_timeout, never_sent, rename_self
from ._sse import SSEParser
from .errors import StreamInterruptedError, TransportError, error_from_answer
from .models import ServerSentEvent

P = ParamSpec("P")
T = TypeVar("T")


class _Driver:
    """Sends the requests of an operation with ``httpx.Client``, retrying per the policy."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        timeout: Optional[float | httpx.Timeout],
        retry: Optional[RetryPolicy],
        transport: Optional[httpx.BaseTransport],
        sleep: Callable[[float], None],
    ) -> None:
        self.timeout = default_timeout(timeout)
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.http = httpx.Client(
            base_url=base_url, headers={"User-Agent": USER_AGENT, **headers}, timeout=self.timeout, transport=transport
        )

    def run(self, op: Op[T]) -> T:
        try:
            request = next(op)
            while True:
                request = op.send(self.execute(request))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def execute(self, request: Request) -> Reply:
        response = self._send(request, stream=False)
        return Reply(response.status_code, response.headers, response.content)

    def _send(self, request: Request, *, stream: bool) -> httpx.Response:
        attempt, waited = 0, 0.0
        while True:
            attempt += 1
            try:
                response = self.http.send(self.http.build_request(**arguments(request, self.timeout, stream=stream)), stream=stream)
            except httpx.TransportError as error:
                delay = self.retry.delay(request, attempt, waited, network_error=True, never_sent=never_sent(error))
                if delay is None:
                    raise TransportError(f"{request.method} {request.path}: {error!r}") from error
            else:
                if response.status_code < 400:
                    return response
                content = response.read()
                response.close()
                failure = error_from_answer(response.status_code, response.headers, content)
                delay = self.retry.delay(request, attempt, waited, status=failure.status, retry_after=failure.retry_after)
                if delay is None:
                    raise failure
            self.sleep(delay)
            waited += delay

    def events(self, plan: StreamPlan) -> Iterator[ServerSentEvent]:
        request, last_id, reconnects = plan.first, plan.first.headers.get("Last-Event-ID"), 0
        while True:
            response = self._send(request, stream=True)
            try:
                plan.opened(response.headers)
                parser = SSEParser()
                for chunk in response.iter_bytes():
                    for event in parser.feed(chunk):
                        if event.id is not None:
                            last_id = event.id
                        yield event
                        if plan.is_final(event):
                            return
                if plan.ended(last_id):
                    return
            except httpx.TransportError:
                pass  # dropped: resumed below
            finally:
                response.close()
            reconnects += 1
            if reconnects > self.retry.max_stream_reconnects:
                raise StreamInterruptedError(f"{plan.first.path}: the stream dropped {reconnects} times before its end")
            self.sleep(self.retry.reconnect_delay(reconnects))
            request = plan.resume(last_id)

    def close(self) -> None:
        self.http.close()


class _Base:
    _driver: _Driver
    _context: Context

    def __init__(
        self,
        base_url: str,
        auth_headers: Mapping[str, str],
        *,
        timeout: Optional[float | httpx.Timeout] = None,
        retry: Optional[RetryPolicy] = None,
        transport: Optional[httpx.BaseTransport] = None,
        headers: Optional[Mapping[str, str]] = None,
        sleep: Callable[[float], None] = time.sleep,
        team_id: Optional[str] = None,
    ) -> None:
        self._driver = _Driver(base_url, {**(headers or {}), **auth_headers}, timeout, retry, transport, sleep)
        self._context = Context(team_id=team_id)

    def close(self) -> None:
        self._driver.close()

    def __enter__(self: "_B") -> "_B":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_B = TypeVar("_B", bound=_Base)


def _op(op: Callable[Concatenate[Context, P], Op[T]]) -> Callable[Concatenate[_Base, P], T]:
    def method(self: _Base, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._driver.run(op(self._context, *args, **kwargs))

    rename_self(method, op)
    return method


def _stream(op: Callable[Concatenate[Context, P], Op[StreamPlan]]) -> Callable[Concatenate[_Base, P], Iterator[ServerSentEvent]]:
    def method(self: _Base, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[ServerSentEvent]:
        plan = self._driver.run(op(self._context, *args, **kwargs))
        return self._driver.events(plan)

    rename_self(method, op, "Iterator[ServerSentEvent]")
    return method


class Client(_Base):
    """A team's client (``Authorization: Bearer <virtual key>``).

    ``team_id`` is learned from ``/api/me`` at the first call that needs it unless given.
    ``retry`` bounds the retries of 429/503/network errors (:class:`RetryPolicy`); ``transport``
    is an httpx transport (tests pass ``httpx.MockTransport``).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        team_id: Optional[str] = None,
        timeout: Optional[float | httpx.Timeout] = None,
        retry: Optional[RetryPolicy] = None,
        transport: Optional[httpx.BaseTransport] = None,
        headers: Optional[Mapping[str, str]] = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            base_url,
            {"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            retry=retry,
            transport=transport,
            headers=headers,
            sleep=sleep,
            team_id=team_id,
        )

    me = _op(ops.me)
    submit = _op(ops.submit)
    submit_document = _op(ops.submit_document)
    submit_batch = _op(ops.submit_batch)
    estimate = _op(ops.estimate)
    get = _op(ops.get)
    wait = _op(ops.wait)
    cancel = _op(ops.cancel)
    delete = _op(ops.delete)
    calls = _op(ops.calls)
    list_jobs = _op(ops.list_jobs)
    document = _op(ops.document)
    llm_call = _op(ops.llm_call)
    get_call = _op(ops.get_call)
    complete = _op(ops.complete)
    create_and_call = _op(ops.create_and_call)
    patch_metadata = _op(ops.patch_metadata)
    costs = _op(ops.costs)
    balance = _op(ops.balance)
    transactions = _op(ops.transactions)
    usage = _op(ops.usage)
    set_webhook = _op(ops.set_webhook)
    get_webhook = _op(ops.get_webhook)
    delete_webhook = _op(ops.delete_webhook)
    webhook_deliveries = _op(ops.webhook_deliveries)
    stream = _stream(ops.stream)
    llm_call_stream = _stream(ops.llm_call_stream)
    create_and_call_stream = _stream(ops.create_and_call_stream)
    resume_stream = _stream(ops.resume_stream)


class AdminClient(_Base):
    """The admin client (``X-Admin-Key: <MASTER_KEY>``): organizations, teams, model groups,
    providers, credits, limits, jobs of any team, the queue, workers, audit and webhooks."""

    def __init__(
        self,
        base_url: str,
        admin_key: str,
        *,
        timeout: Optional[float | httpx.Timeout] = None,
        retry: Optional[RetryPolicy] = None,
        transport: Optional[httpx.BaseTransport] = None,
        headers: Optional[Mapping[str, str]] = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            base_url, {"X-Admin-Key": admin_key}, timeout=timeout, retry=retry, transport=transport, headers=headers, sleep=sleep
        )

    create_organization = _op(admin_ops.create_organization)
    list_organizations = _op(admin_ops.list_organizations)
    get_organization = _op(admin_ops.get_organization)
    organization_teams = _op(admin_ops.organization_teams)
    organization_usage = _op(admin_ops.organization_usage)
    create_team = _op(admin_ops.create_team)
    list_teams = _op(admin_ops.list_teams)
    get_team = _op(admin_ops.get_team)
    set_team_model_groups = _op(admin_ops.set_team_model_groups)
    suspend_team = _op(admin_ops.suspend_team)
    resume_team = _op(admin_ops.resume_team)
    rotate_team_key = _op(admin_ops.rotate_team_key)
    set_team_limits = _op(admin_ops.set_team_limits)
    team_usage = _op(admin_ops.team_usage)
    create_model_group = _op(admin_ops.create_model_group)
    list_model_groups = _op(admin_ops.list_model_groups)
    get_model_group = _op(admin_ops.get_model_group)
    set_model_group_models = _op(admin_ops.set_model_group_models)
    delete_model_group = _op(admin_ops.delete_model_group)
    create_provider = _op(admin_ops.create_provider)
    list_providers = _op(admin_ops.list_providers)
    update_provider = _op(admin_ops.update_provider)
    delete_provider = _op(admin_ops.delete_provider)
    add_credits = _op(admin_ops.add_credits)
    adjust_credits = _op(admin_ops.adjust_credits)
    set_budget_mode = _op(admin_ops.set_budget_mode)
    team_balance = _op(admin_ops.team_balance)
    team_transactions = _op(admin_ops.team_transactions)
    list_jobs = _op(admin_ops.list_jobs)
    get_job = _op(admin_ops.get_job)
    cancel_job = _op(admin_ops.cancel_job)
    retry_job = _op(admin_ops.retry_job)
    queue = _op(admin_ops.queue)
    pause_queue = _op(admin_ops.pause_queue)
    resume_queue = _op(admin_ops.resume_queue)
    workers = _op(admin_ops.workers)
    drain_worker = _op(admin_ops.drain_worker)
    set_worker_concurrency = _op(admin_ops.set_worker_concurrency)
    audit = _op(admin_ops.audit)
    set_webhook = _op(admin_ops.set_webhook)
    get_webhook = _op(admin_ops.get_webhook)
    delete_webhook = _op(admin_ops.delete_webhook)
    webhook_deliveries = _op(admin_ops.webhook_deliveries)
