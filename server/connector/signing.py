"""Signed webhooks: HMAC-SHA256 over ``<timestamp>.<raw body>`` with a shared secret.

Header ``X-Motcua-Signature: t=<unix seconds>,v1=<hex digest>``. A signature older or newer
than ``TOLERANCE_S`` is refused (replay window); inside the window, a delivery id seen before is
refused too (``connector_deliveries`` keeps them), so a captured request cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Motcua-Signature"
DELIVERY_HEADER = "X-Motcua-Delivery"
TOLERANCE_S = 300


class SignatureError(Exception):
    """The request is not from the system we share the secret with (or is too old)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str | None, now: float | None = None) -> int:
    """Return the signed timestamp, or raise :class:`SignatureError`."""
    if not header:
        raise SignatureError("signature_missing", f"the {HEADER} header is required")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        raise SignatureError("signature_malformed", f"{HEADER} must look like t=<unix>,v1=<hex>") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE_S:
        raise SignatureError("signature_expired", "the signature is too old or from the future; check clocks")
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise SignatureError("signature_invalid", "the signature does not match the body")
    return timestamp
