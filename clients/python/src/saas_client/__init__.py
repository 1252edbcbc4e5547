"""Python client of the multi-tenant LLM job service (the HTTP contract of API.md).

``Client`` / ``AsyncClient`` for a team's key, ``AdminClient`` / ``AsyncAdminClient`` for the
admin key, ``verify_webhook`` for the deliveries of a team's webhook endpoint.
"""

from ._core import RetryPolicy
from .async_client import AsyncAdminClient, AsyncClient
from .client import AdminClient, Client
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientCreditsError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    SaasError,
    ServerError,
    ServiceUnavailableError,
    StreamInterruptedError,
    TransportError,
    UnsupportedMediaTypeError,
    ValidationError,
    WaitTimeoutError,
    WebhookVerificationError,
)
from .models import (
    TERMINAL_STATUSES,
    Balance,
    BatchItem,
    BatchResult,
    CallRecord,
    CallResult,
    Completion,
    Delivery,
    Estimate,
    Job,
    JSONObject,
    Page,
    ServerSentEvent,
    SingleCallResult,
    Submitted,
    Transaction,
    WebhookEndpoint,
)
from .webhooks import sign_webhook, verify_webhook

__version__ = "0.1.0"

__all__ = [
    "AdminClient",
    "APIError",
    "AsyncAdminClient",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Balance",
    "BatchItem",
    "BatchResult",
    "CallRecord",
    "CallResult",
    "Client",
    "Completion",
    "ConflictError",
    "Delivery",
    "Estimate",
    "InsufficientCreditsError",
    "Job",
    "JSONObject",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "SaasError",
    "ServerError",
    "ServerSentEvent",
    "ServiceUnavailableError",
    "SingleCallResult",
    "StreamInterruptedError",
    "Submitted",
    "TERMINAL_STATUSES",
    "Transaction",
    "TransportError",
    "UnsupportedMediaTypeError",
    "ValidationError",
    "WaitTimeoutError",
    "WebhookEndpoint",
    "WebhookVerificationError",
    "sign_webhook",
    "verify_webhook",
]
