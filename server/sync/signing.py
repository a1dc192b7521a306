"""Request signatures between a site and its province: HMAC-SHA256 with the site's own key.

The signed text is ``site \\n unix-seconds \\n METHOD \\n path \\n`` followed by the body bytes, so a
signature is good for one request to one path; the province refuses a time more than
``MAX_SKEW_S`` away from its own clock (an old request cannot be replayed much later).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SITE_HEADER = "X-Motcua-Site"
TIME_HEADER = "X-Motcua-Time"
SIGNATURE_HEADER = "X-Motcua-Signature"
MAX_SKEW_S = 300


def new_key() -> str:
    return secrets.token_urlsafe(32)


def signature(key: str, site: str, ts: int, method: str, path: str, body: bytes) -> str:
    text = f"{site}\n{ts}\n{method.upper()}\n{path}\n".encode() + body
    return "sha256=" + hmac.new(key.encode(), text, hashlib.sha256).hexdigest()


def headers(key: str, site: str, ts: int, method: str, path: str, body: bytes) -> dict[str, str]:
    return {SITE_HEADER: site, TIME_HEADER: str(ts), SIGNATURE_HEADER: signature(key, site, ts, method, path, body)}


def matches(keys: list[str], given: str, site: str, ts: int, method: str, path: str, body: bytes) -> bool:
    return any(hmac.compare_digest(signature(k, site, ts, method, path, body), given) for k in keys if k)
