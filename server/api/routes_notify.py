"""A citizen leaves (or removes) a phone number for "your turn is near" on their ticket's page.

Public like the page itself: the tracking token is the secret, and the same per-client rate limit
applies. A number that is not a Vietnamese mobile is a 422 ``invalid_phone`` with a sentence in
Vietnamese and English; the answer shows the number masked, never in full.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path as PathParam, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from server.domain.errors import NotFound

from server.storage.tracking import TOKEN_SHAPE

from .routes_track import NOT_FOUND, _limited

router = APIRouter()
Token = Annotated[str, PathParam()]


class PhoneIn(BaseModel):
    phone: str = Field(max_length=40, description="a Vietnamese mobile number, e.g. 0912 345 678")


async def _run(request: Request, fn, *args):
    try:
        return JSONResponse(await run_in_threadpool(fn, *args), headers={"Cache-Control": "no-store"})
    except NotFound:
        return JSONResponse({"error": NOT_FOUND}, status_code=404)


@router.post("/api/v1/track/{token}/phone")
async def attach_phone(token: Token, body: PhoneIn, request: Request):
    limited = _limited(request, False)
    if limited is not None:
        return limited
    if not TOKEN_SHAPE.fullmatch(token):
        return JSONResponse({"error": NOT_FOUND}, status_code=404)
    return await _run(request, request.app.state.notices.attach, token, body.phone)


@router.delete("/api/v1/track/{token}/phone")
async def detach_phone(token: Token, request: Request):
    limited = _limited(request, False)
    if limited is not None:
        return limited
    if not TOKEN_SHAPE.fullmatch(token):
        return JSONResponse({"error": NOT_FOUND}, status_code=404)
    return await _run(request, request.app.state.notices.detach, token)
