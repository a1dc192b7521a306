"""Who the client is (X-Forwarded-For only from trusted proxies) and the security headers.

``X-Forwarded-For`` is a claim anyone can make. It is believed only when the connection comes from
an address in ``MOTCUA_TRUSTED_PROXIES`` (default: none), and then read from the right: the first
hop that is not itself a trusted proxy is the client. (Uvicorn's own proxy-header handling, which
trusts 127.0.0.1 by default, is switched off where the server starts, so this is the one place.)

Every answer carries a Content-Security-Policy (scripts only from this server, plus the inline one
a page marks with this response's nonce), ``X-Frame-Options: DENY``, ``nosniff`` and a referrer
policy that never sends the tracking token in ``/t/{token}`` to another site.
"""

from __future__ import annotations

import ipaddress
import secrets

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.config import Network

CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
"""/docs and /redoc are FastAPI's pages from a CDN with inline scripts: they get their own policy."""
DOCS_PATHS = ("/docs", "/redoc")
STATIC_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: Request) -> str:
    """The client's address, for rate limits and login throttling."""
    peer = request.client.host if request.client else "unknown"
    networks: tuple[Network, ...] = getattr(request.app.state, "trusted_proxies", ())
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for value in request.headers.getlist("x-forwarded-for") for h in value.split(",")]
    for hop in reversed([h for h in hops if h]):
        try:
            ip = ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a trusted proxy never writes this: don't believe the rest of the chain
        if not any(ip in net for net in networks):
            return str(ip)
    return peer


def csp_nonce(request: Request) -> str:
    """This response's nonce, for ``<script nonce="…">`` in a template."""
    return request.scope.get("state", {}).get("csp_nonce", "")


class SecurityHeaders:
    """Pure ASGI (streams such as SSE pass through untouched): adds the headers to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        path = scope.get("path", "")
        policy = DOCS_CSP if path.startswith(DOCS_PATHS) else CSP.format(nonce=nonce)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in STATIC_HEADERS if n not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", policy.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
