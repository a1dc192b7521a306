"""``POST /api/v1/connector/webhook``: status changes pushed by the electronic one-stop system.

Authenticated by the HMAC signature, not a bearer token. Bad signatures → 401; a delivery
replayed → 200 with ``"duplicate": true`` (nothing applied twice).
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from server.connector.base import StatusUpdate
from server.connector.signing import HEADER, SignatureError, verify

from .errors import ApiError

router = APIRouter(prefix="/api/v1")


@router.post("/connector/webhook")
async def webhook(request: Request):
    sync = getattr(request.app.state, "connector", None)
    if sync is None:
        raise ApiError(404, "not_found", "no one-stop system is connected to this server")
    body = await request.body()
    try:
        verify(sync.system.secret, body, request.headers.get(HEADER))
    except SignatureError as err:
        raise ApiError(401, err.code, err.message) from None
    try:
        change = StatusUpdate.parse(json.loads(body))
    except (ValueError, KeyError, TypeError) as err:
        raise ApiError(422, "invalid_request", f"not a status change: {err}") from None
    applied = await run_in_threadpool(sync.apply, change)
    return {"applied": applied, "duplicate": not applied, "code": change.code, "status": change.status.value}
