"""Verifying the API's webhook deliveries (the Standard Webhooks scheme).

A delivery carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``:
space-separated ``v1,<base64 HMAC-SHA256>`` entries (more than one while a secret is rotated) of
``"<id>.<timestamp>.<body>"`` under the endpoint's secret, ``whsec_<base64 of the key>``. Verify
the raw body bytes as received: a re-encoded JSON body would not match.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any, Mapping, Optional

from .errors import WebhookVerificationError

#: How far a delivery's timestamp may be from now, either way (replays of old deliveries fail).
DEFAULT_TOLERANCE_SECONDS = 5 * 60


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        return secret
    encoded = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as error:
        raise WebhookVerificationError("the webhook secret is not whsec_ followed by base64") from error
    if not key:
        raise WebhookVerificationError("the webhook secret is empty")
    return key


def sign_webhook(secret: str | bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) of one delivery: what the API sends."""
    digest = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    secret: str | bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: Optional[float] = None,
) -> dict[str, Any]:
    """The delivery's JSON payload once its signature verifies; :class:`WebhookVerificationError` otherwise.

    ``headers`` may use any case (a framework's header mapping or a plain dict). ``now`` (Unix
    seconds) is for tests. Signatures are compared in constant time; a timestamp further than
    ``tolerance`` seconds from now, in either direction, is refused.
    """
    lowered = {str(name).lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    timestamp_text = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and timestamp_text and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(timestamp_text.strip())
    except ValueError as error:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from error
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise WebhookVerificationError("webhook-timestamp is too old")
    if timestamp > current + tolerance:
        raise WebhookVerificationError("webhook-timestamp is too new")
    if isinstance(body, str):  # tolerated: a caller holding text
        body = body.encode("utf-8")
    expected = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    matched = False
    for entry in signatures.split(" "):
        version, _, encoded = entry.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        # Every entry is compared (no early exit), each in constant time.
        matched = hmac.compare_digest(expected, candidate) or matched
    if not matched:
        raise WebhookVerificationError("no webhook-signature entry matches")
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise WebhookVerificationError("the verified body is not JSON") from error
    if not isinstance(payload, dict):
        raise WebhookVerificationError("the verified body is not a JSON object")
    return payload
