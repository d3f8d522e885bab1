"""How a webhook delivery is signed, and how its receiver checks it (standard library only: a receiver may copy
this file as it is).

Every POST carries three headers:

* ``X-CCHC-Timestamp``: when it was sent, in whole seconds since 1970-01-01 UTC;
* ``X-CCHC-Delivery``: the notification's id, the same on every retry of the same message;
* ``X-CCHC-Signature``: ``sha256=`` + hex HMAC-SHA256 with the webhook's shared secret over
  ``<timestamp>.<delivery>.<body bytes>``.

Signing the timestamp and the delivery id with the body means none of the three can be changed or swapped
without the secret. A receiver accepts a request only if the signature matches, the timestamp lies within its
replay window (``tolerance_seconds``, 5 minutes by default, either way for clock skew) and it has not already
processed that delivery id: a captured request replayed later is too old, one replayed at once is a delivery
already processed. The receiver should remember a delivery id once it has *processed* it (not merely verified
it), for at least the window: our outbox retries a delivery whose answer it did not get (at-least-once), and
that retry must be processed if the first attempt was not, or dropped if it was.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Container, Mapping

SIGNATURE_HEADER = "X-CCHC-Signature"
TIMESTAMP_HEADER = "X-CCHC-Timestamp"
DELIVERY_HEADER = "X-CCHC-Delivery"
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookRejected(ValueError):
    """The request is not a fresh, authentic CCHC delivery; answer it with 401 and do not process it."""


def signature(secret: str, timestamp: str, delivery: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "<timestamp>.<delivery>.<body>")>``."""
    signed = timestamp.encode("ascii") + b"." + delivery.encode("utf-8") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signed_headers(secret: str, delivery: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The three headers of one delivery (the sender's side)."""
    stamp = str(int(timestamp))
    return {TIMESTAMP_HEADER: stamp, DELIVERY_HEADER: delivery,
            SIGNATURE_HEADER: signature(secret, stamp, delivery, body)}


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
           tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS, seen: Container[str] = ()) -> str:
    """The delivery id of an authentic, fresh request not yet processed; raises WebhookRejected otherwise.

    ``headers`` as the web framework gives them (names in any letter case); ``body`` the raw bytes received,
    before any JSON parsing; ``now`` the receiver's clock (seconds since the epoch, default ``time.time()``);
    ``seen`` the delivery ids already processed within the window.
    """
    values = {name.lower(): value for name, value in headers.items()}
    for name in (SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER):
        if not values.get(name.lower()):
            raise WebhookRejected(f"{name} missing")
    stamp, delivery = values[TIMESTAMP_HEADER.lower()].strip(), values[DELIVERY_HEADER.lower()].strip()
    if not stamp.isdigit():
        raise WebhookRejected(f"{TIMESTAMP_HEADER}: {stamp!r} is not a number of seconds")
    if not hmac.compare_digest(signature(secret, stamp, delivery, body), values[SIGNATURE_HEADER.lower()].strip()):
        raise WebhookRejected(f"{SIGNATURE_HEADER}: signature does not match")
    age = (time.time() if now is None else now) - int(stamp)
    if age > tolerance_seconds:
        raise WebhookRejected(f"{TIMESTAMP_HEADER}: older than {tolerance_seconds:g} s ({age:.0f} s): a replay")
    if age < -tolerance_seconds:
        raise WebhookRejected(f"{TIMESTAMP_HEADER}: {-age:.0f} s in the future (check the clocks)")
    if delivery in seen:
        raise WebhookRejected(f"{DELIVERY_HEADER}: {delivery} already processed: a replay or a retry")
    return delivery
