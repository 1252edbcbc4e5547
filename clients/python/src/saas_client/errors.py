"""One exception hierarchy for everything the client raises.

Every answer of the API outside 2xx is JSON ``{"detail": "<one sentence>"}`` and carries an
``X-Request-Id``; :class:`APIError` keeps the three (status, detail, request id) so that a
caller can log or match them without reading the response again. Subclasses exist per status
so that ``except InsufficientCreditsError`` reads as what it handles.
"""

from __future__ import annotations

import json
from typing import Any, Mapping


class SaasError(Exception):
    """The base of every error this package raises."""


class APIError(SaasError):
    """The API answered with a status outside 2xx (after any retries)."""

    status: int
    detail: str
    request_id: str | None
    retry_after: float | None
    body: Any

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{status}: {detail}" + (f" (request id {request_id})" if request_id else ""))
        self.status = status
        self.detail = detail
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body


class BadRequestError(APIError):
    """400: the body is not JSON, not UTF-8, or not valid multipart."""


class AuthenticationError(APIError):
    """401: a missing or invalid key."""


class InsufficientCreditsError(APIError):
    """402: the team's credits do not cover the reservation; nothing was queued."""


class PermissionDeniedError(APIError):
    """403: suspended team, foreign team or job, or a model group the team does not hold."""


class NotFoundError(APIError):
    """404: an unknown path or resource."""


class ConflictError(APIError):
    """409: a state conflict (terminal job, reused Idempotency-Key, taken name…)."""


class PayloadTooLargeError(APIError):
    """413: a body over the API's limit."""


class UnsupportedMediaTypeError(APIError):
    """415: an uploaded document of a kind the API does not read."""


class ValidationError(APIError):
    """422: valid JSON with a wrong type, a missing or an invalid field (the detail names it)."""


class RateLimitError(APIError):
    """429: a per-team or per-caller bound; ``retry_after`` says when to come back."""


class ServerError(APIError):
    """5xx other than 503 (a 502 is an LLM call that failed for good)."""


class ServiceUnavailableError(ServerError):
    """503: the API is overloaded or could not know an outcome; retry with the same Idempotency-Key."""


class TransportError(SaasError):
    """The request could not be completed over the network (after any retries)."""


class WaitTimeoutError(SaasError):
    """``wait`` reached its deadline before the job reached a terminal status."""

    def __init__(self, job: Any) -> None:
        super().__init__(f"job {getattr(job, 'job_id', '?')} is still {getattr(job, 'status', '?')} at the deadline")
        self.job = job


class StreamInterruptedError(SaasError):
    """An event stream dropped more often than the retry policy allows, before its final event."""


class WebhookVerificationError(SaasError):
    """A webhook's headers or signature do not verify (missing header, stale timestamp, bad signature)."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: ValidationError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime
        import time

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def error_from_answer(status: int, headers: Mapping[str, str], content: bytes) -> APIError:
    """The exception for one non-2xx answer: its class by status, its ``detail`` from the JSON body."""
    body: Any = None
    detail = ""
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        detail = body["detail"]
    elif content:
        detail = content[:500].decode("utf-8", "replace")
    else:
        detail = f"HTTP {status}"
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return cls(
        status,
        detail,
        request_id=headers.get("x-request-id"),
        retry_after=parse_retry_after(headers.get("retry-after")),
        body=body,
    )
