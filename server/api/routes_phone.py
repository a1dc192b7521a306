"""Phone verification for citizens' pages: ``POST /api/v1/phone/verify/start`` and ``/confirm``.

Public. ``start`` sends a 6-digit code by SMS (the centre's modem) and answers a ``verification``
id; ``confirm`` takes that id and the typed code and answers a ``proof`` token, which a booking or
a remote ticket then presents instead of the number. Refusals are ``{"error": {"code", "message"}}``
with the Vietnamese sentence first: 422 ``invalid_phone`` / ``wrong_code`` / ``code_expired``,
429 ``code_just_sent`` / ``too_many_codes`` / ``too_many_requests`` / ``sms_busy`` /
``too_many_guesses`` (with ``Retry-After`` where waiting helps), 503 ``sms_unavailable`` /
``sms_failed``. See ``server/domain/phone_verify.py`` for the limits.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from .deps import run_db
from .routes_track import _limited
from .security import client_address

router = APIRouter(tags=["phone"])


class VerifyStart(BaseModel):
    phone: str = Field(max_length=40, description="a Vietnamese mobile number, e.g. 0912 345 678")
    purpose: Literal["booking", "remote"] = "booking"


class VerifyConfirm(BaseModel):
    verification: str = Field(max_length=60)
    code: str = Field(max_length=20, description="the 6 digits from the SMS")


@router.post("/api/v1/phone/verify/start")
async def verify_start(body: VerifyStart, request: Request):
    limited = _limited(request, False)
    if limited is not None:
        return limited
    store = request.app.state.phone_verify
    out = await run_in_threadpool(store.start, body.phone, body.purpose, client_address(request))
    return JSONResponse(out, headers={"Cache-Control": "no-store"})


@router.post("/api/v1/phone/verify/confirm")
async def verify_confirm(body: VerifyConfirm, request: Request):
    limited = _limited(request, False)
    if limited is not None:
        return limited
    store = request.app.state.phone_verify
    out = await run_db(store.db, store.confirm, body.verification, body.code)
    return JSONResponse(out, headers={"Cache-Control": "no-store"})
