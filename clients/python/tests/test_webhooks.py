"""verify_webhook against the Standard Webhooks published test vector and its failure cases."""

from __future__ import annotations

import base64
import time

import pytest

from saas_client import WebhookVerificationError, sign_webhook, verify_webhook

# The vector of standard-webhooks/standard-webhooks (libraries' test_sign_function).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def headers(signature: str = SIGNATURE, timestamp: int = TIMESTAMP, msg_id: str = MSG_ID) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def test_published_vector_signs_as_published() -> None:
    assert sign_webhook(SECRET, MSG_ID, TIMESTAMP, BODY) == SIGNATURE


def test_published_vector_verifies_and_returns_the_payload() -> None:
    assert verify_webhook(headers(), BODY, SECRET, now=TIMESTAMP) == {"test": 2432232314}


def test_secret_without_prefix_and_header_names_in_any_case() -> None:
    mixed = {"Webhook-Id": MSG_ID, "WEBHOOK-TIMESTAMP": str(TIMESTAMP), "Webhook-Signature": SIGNATURE}
    assert verify_webhook(mixed, BODY, SECRET.removeprefix("whsec_"), now=TIMESTAMP)["test"] == 2432232314


def test_one_matching_signature_among_several_verifies() -> None:
    other = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    signatures = " ".join([other, "v2," + SIGNATURE[3:], SIGNATURE, other])
    assert verify_webhook(headers(signatures), BODY, SECRET, now=TIMESTAMP) == {"test": 2432232314}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda h: h.pop("webhook-id"), id="missing id"),
        pytest.param(lambda h: h.pop("webhook-timestamp"), id="missing timestamp"),
        pytest.param(lambda h: h.pop("webhook-signature"), id="missing signature"),
        pytest.param(lambda h: h.update({"webhook-timestamp": "hello"}), id="timestamp not a number"),
        pytest.param(lambda h: h.update({"webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="}), id="wrong signature"),
        pytest.param(lambda h: h.update({"webhook-signature": "v2," + SIGNATURE[3:]}), id="only another version"),
        pytest.param(lambda h: h.update({"webhook-signature": "v1,not base64!"}), id="signature not base64"),
        pytest.param(lambda h: h.update({"webhook-id": "msg_other"}), id="another id"),
    ],
)
def test_refused_headers(change: object) -> None:
    h = headers()
    change(h)  # type: ignore[operator]
    with pytest.raises(WebhookVerificationError):
        verify_webhook(h, BODY, SECRET, now=TIMESTAMP)


def test_tampered_body_is_refused() -> None:
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers(), b'{"test": 2432232315}', SECRET, now=TIMESTAMP)


def test_wrong_secret_is_refused() -> None:
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers(), BODY, other, now=TIMESTAMP)


def test_timestamps_outside_five_minutes_are_refused_either_way() -> None:
    assert verify_webhook(headers(), BODY, SECRET, now=TIMESTAMP + 300)
    assert verify_webhook(headers(), BODY, SECRET, now=TIMESTAMP - 300)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(headers(), BODY, SECRET, now=TIMESTAMP + 301)
    with pytest.raises(WebhookVerificationError, match="too new"):
        verify_webhook(headers(), BODY, SECRET, now=TIMESTAMP - 301)


def test_a_fresh_delivery_verifies_with_the_clock() -> None:
    now = int(time.time())
    body = b'{"type":"job.completed","data":{"job_id":"j"}}'
    signature = sign_webhook(SECRET, "msg_1", now, body)
    assert verify_webhook(headers(signature, now, "msg_1"), body, SECRET)["type"] == "job.completed"
