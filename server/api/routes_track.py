"""The citizen's tracking page ``/t/{token}``, its JSON twin and a Server-Sent Events stream.

Public (the token is the secret). Unknown, malformed and expired tokens get the same 404 page
byte for byte; every lookup is rate-limited per client IP.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Path as PathParam, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from .errors import error_response
from .security import client_address

router = APIRouter()
WEB = Path(__file__).resolve().parent.parent / "web"
templates = Jinja2Templates(directory=str(WEB / "templates"))
Token = Annotated[str, PathParam()]  # any text, even with "/": same 404 for all
Lang = Annotated[Literal["vi", "en"], Query()]
STREAM_MAX_S = 600.0
"""A stream ends after this long; EventSource reconnects by itself, and a server never waits on
a forgotten phone at shutdown for longer."""
HEARTBEAT_S = 15.0
MIN_INTERVAL_S = 0.3
"""At most ~3 database reads a second per stream, however busy the site is."""

NOT_FOUND = {"code": "not_found", "message": "Không tìm thấy thông tin cho mã này. / Nothing found for this code."}


def _client(request: Request) -> str:
    return client_address(request)  # X-Forwarded-For only from MOTCUA_TRUSTED_PROXIES


def _limited(request: Request, html: bool, lang: str = "vi"):
    allowed, retry = request.app.state.track_limiter.allow(_client(request))
    if allowed:
        return None
    headers = {"Retry-After": str(max(1, int(retry + 0.999)))}
    if html:
        return templates.TemplateResponse(request, "track_message.html", {"lang": lang, "reason": "busy"},
                                          status_code=429, headers=headers)
    return error_response(429, "rate_limited", "Quá nhiều lượt tra cứu, vui lòng thử lại sau ít phút. / "
                          "Too many look-ups, please try again in a minute.", headers)


async def _lookup(request: Request, token: str):
    return await run_in_threadpool(request.app.state.tracking.lookup, token)


@router.get("/t/{token:path}", response_class=HTMLResponse, include_in_schema=False)
async def track_page(token: Token, request: Request, lang: Lang = "vi"):
    limited = _limited(request, True, lang)
    if limited is not None:
        return limited
    state = await _lookup(request, token)
    if state is None:
        return templates.TemplateResponse(request, "track_message.html", {"lang": lang, "reason": "unknown"},
                                          status_code=404)
    return templates.TemplateResponse(request, "track.html", {
        "lang": lang, "state": state, "token": token, "check_in_qr": _check_in_qr(request, state, token),
    }, headers={"Cache-Control": "no-store"})


def _check_in_qr(request: Request, state: dict, token: str) -> str | None:
    """A remote ticket's page shows its own URL as a QR code: the kiosk scans it to check in."""
    if state.get("kind") != "ticket" or not state.get("remote"):
        return None
    from devices.layout import qr_image  # Pillow and segno: only remote tickets' pages need them

    buffer = io.BytesIO()
    qr_image(f"{request.app.state.settings.public_url}/t/{token}", 6).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@router.get("/api/v1/track/{token}/events")
async def track_events(token: Token, request: Request):
    """``text/event-stream``: one ``data:`` line with the JSON state now and after every change."""
    limited = _limited(request, False)
    if limited is not None:
        return limited
    first = await _lookup(request, token)
    if first is None:
        return JSONResponse({"error": NOT_FOUND}, status_code=404)
    notifier = request.app.state.notifier
    loop = asyncio.get_running_loop()

    async def stream():
        last = json.dumps(first, ensure_ascii=False)
        yield f"retry: 3000\ndata: {last}\n\n"
        seen = notifier.version
        started = quiet_since = loop.time()
        while loop.time() - started < STREAM_MAX_S:
            version = await notifier.wait(seen, HEARTBEAT_S)
            if version == seen:
                if loop.time() - quiet_since >= HEARTBEAT_S:
                    quiet_since = loop.time()
                    yield ": keep-alive\n\n"
                continue
            seen = version
            state = await _lookup(request, token)
            body = json.dumps(state if state is not None else {"kind": "gone"}, ensure_ascii=False)
            if body != last:
                last = body
                quiet_since = loop.time()
                yield f"data: {body}\n\n"
            if state is None:
                return
            await asyncio.sleep(MIN_INTERVAL_S)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/api/v1/track/{token:path}")
async def track_json(token: Token, request: Request):
    limited = _limited(request, False)
    if limited is not None:
        return limited
    state = await _lookup(request, token)
    if state is None:
        return JSONResponse({"error": NOT_FOUND}, status_code=404)
    return JSONResponse(state, headers={"Cache-Control": "no-store"})
