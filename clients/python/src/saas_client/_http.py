"""What both drivers do the same way around httpx: request arguments, error classes, method binding."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Optional, TypeVar

import httpx

from ._core import NO_BODY, Request

T = TypeVar("T")

#: Read timeout of an event stream: the API sends a keep-alive comment every 15 s.
STREAM_READ_TIMEOUT = 60.0
#: The ``User-Agent`` every request carries.
USER_AGENT = "saas-client-python/0.1"


def arguments(request: Request, timeout: httpx.Timeout, *, stream: bool = False) -> dict[str, Any]:
    """Keyword arguments of ``httpx.Client.build_request`` for ``request``."""
    read = timeout.read
    if stream:
        read = max(read or 0.0, STREAM_READ_TIMEOUT)
    elif request.read_timeout is not None:
        read = max(read or 0.0, request.read_timeout)
    kwargs: dict[str, Any] = {
        "method": request.method,
        "url": request.path,
        "params": request.query(),
        "headers": request.headers,
        "timeout": httpx.Timeout(timeout.connect, read=read, write=timeout.write, pool=timeout.pool),
    }
    if request.json is not NO_BODY:
        kwargs["json"] = request.json
    if request.files is not None:
        kwargs["files"] = request.files
    return kwargs


def never_sent(error: Exception) -> bool:
    """Whether the request certainly never reached the server (so any request may be sent again)."""
    return isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def rename_self(method: Callable[..., Any], op: Callable[..., Any], returns: Any = inspect.Signature.empty) -> None:
    """Gives ``method`` the operation's name, docs and signature, with ``self`` for its context."""
    method.__name__ = op.__name__
    method.__qualname__ = op.__name__
    method.__doc__ = op.__doc__
    signature = inspect.signature(op)
    parameters = list(signature.parameters.values())
    parameters[0] = parameters[0].replace(name="self", annotation=inspect.Parameter.empty)
    if returns is inspect.Signature.empty:
        returns = signature.return_annotation
        if isinstance(returns, str) and returns.startswith("Op[") and returns.endswith("]"):
            returns = returns[3:-1]  # the method answers what the operation returns
    method.__signature__ = signature.replace(parameters=parameters, return_annotation=returns)  # type: ignore[attr-defined]


def default_timeout(timeout: Optional[float | httpx.Timeout]) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(30.0 if timeout is None else timeout, connect=10.0)

