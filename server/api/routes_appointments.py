"""Appointments over HTTP: the citizen's booking page, the manager's plan, the kiosk's check-in.

Public (the citizen's phone): ``GET /hen/{site}`` (the booking page), ``GET /a/{token}`` (the
confirmation with its QR, ``/a/{token}/qr.svg``), ``GET /api/v1/sites/{site}/appointments/slots``,
``POST /api/v1/sites/{site}/appointments`` (with a phone proof from ``/api/v1/phone/verify``),
``POST /api/v1/sites/{site}/appointments/mine``, ``GET /api/v1/appointments/{token}`` and
``POST /api/v1/appointments/{token}/cancel``. All rate-limited per client like the tracking page.

Manager: ``GET``/``PUT /api/v1/sites/{site}/appointment-plans/{service}``, and
``GET /api/v1/sites/{site}/appointments/figures``. Kiosk: ``POST
/api/v1/sites/{site}/appointments/check-in`` with ``{"token"}`` (the QR) or ``{"citizen":
{"id_hash"}}`` (the CCCD), answering the ticket like ``POST …/tickets``.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from server.domain.errors import NotFound
from server.storage.queue_rows import utcnow

from .deps import Issuer, Manager, check_site
from .errors import ApiError, error_response
from .models import Citizen, PathKey
from .routes_privacy import verified_id_hash
from .routes_track import _limited, templates

router = APIRouter(tags=["appointments"])
SitePath = Annotated[str, PathKey]
ServicePath = Annotated[str, PathKey]
Lang = Annotated[Literal["vi", "en"], Query()]
_PAGES: dict[tuple[str, str], tuple[dict, str]] = {}
"""The booking page as rendered for the catalogue it shows (no per-request nonce in it)."""


class BookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = Field(max_length=40)
    day: date
    start: str = Field(max_length=5, description="the slot's start, HH:MM")
    proof: str = Field(max_length=100, description="from POST /api/v1/phone/verify/confirm")
    cccd: str | None = Field(default=None, max_length=20,
                             description="optional: the CCCD number, kept only as the site's keyed hash")


class ProofIn(BaseModel):
    proof: str = Field(max_length=100)


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str | None = Field(default=None, max_length=200, description="the QR's text: a URL …/a/TOKEN or TOKEN")
    citizen: Citizen | None = None


def _limited_booking(request: Request):
    """The tracking page's per-client limit, with a sentence about booking instead of look-ups."""
    limited = _limited(request, False)
    if limited is None:
        return None
    return error_response(429, "rate_limited", "Bạn gửi quá nhiều yêu cầu. Vui lòng thử lại sau ít phút. / "
                          "Too many requests; try again in a few minutes.",
                          {"Retry-After": limited.headers.get("retry-after", "60")})


def _store(request: Request):
    return request.app.state.appointments


def _no_store(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})


# ---- the citizen's pages ---------------------------------------------------------------------
@router.get("/hen/{site}", response_class=HTMLResponse, include_in_schema=False)
async def booking_page(site: SitePath, request: Request, lang: Lang = "vi"):
    limited = _limited(request, True, lang)
    if limited is not None:
        return limited
    try:
        data = _store(request).cached_catalogue(site) or await run_in_threadpool(_store(request).catalogue, site)
    except NotFound:
        return templates.TemplateResponse(request, "track_message.html", {"lang": lang, "reason": "unknown"},
                                          status_code=404)
    key = (site, lang)
    cached = _PAGES.get(key)
    if cached is None or cached[0] is not data:  # the catalogue changed (a booking, a new minute)
        html = templates.get_template("book.html").render({"request": request, "lang": lang, "data": data,
                                                          "site": site})
        cached = _PAGES[key] = (data, html)
    return HTMLResponse(cached[1], headers={"Cache-Control": "no-store"})


@router.get("/a/{token}", response_class=HTMLResponse, include_in_schema=False)
async def appointment_page(token: str, request: Request, lang: Lang = "vi"):
    limited = _limited(request, True, lang)
    if limited is not None:
        return limited
    try:
        view = await run_in_threadpool(_store(request).view, token)
    except NotFound:
        return templates.TemplateResponse(request, "track_message.html", {"lang": lang, "reason": "unknown"},
                                          status_code=404)
    return templates.TemplateResponse(request, "appointment.html", {"lang": lang, "a": view},
                                      headers={"Cache-Control": "no-store"})


@router.get("/a/{token}/qr.svg", include_in_schema=False)
async def appointment_qr(token: str, request: Request):
    limited = _limited(request, False)
    if limited is not None:
        return limited
    try:
        view = await run_in_threadpool(_store(request).view, token)
    except NotFound as err:
        return error_response(404, err.code, err.message)
    out = io.BytesIO()
    segno.make(view["url"], error="m").save(out, kind="svg", scale=8, border=4, xmldecl=False)
    return Response(out.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


# ---- the citizen's API -----------------------------------------------------------------------
@router.get("/api/v1/sites/{site}/appointments/slots")
async def slots(site: SitePath, request: Request):
    limited = _limited(request, False)
    if limited is not None:
        return limited
    return _no_store(await run_in_threadpool(_store(request).catalogue, site))


@router.post("/api/v1/sites/{site}/appointments", status_code=201)
async def book(site: SitePath, body: BookIn, request: Request):
    limited = _limited_booking(request)
    if limited is not None:
        return limited
    store = _store(request)
    view = await run_in_threadpool(store.book, site, body.service, body.day, body.start, body.proof, body.cccd)
    return _no_store(view, 201)


@router.post("/api/v1/sites/{site}/appointments/mine")
async def mine(site: SitePath, body: ProofIn, request: Request):
    limited = _limited_booking(request)
    if limited is not None:
        return limited
    return _no_store({"appointments": await run_in_threadpool(_store(request).mine, site, body.proof)})


@router.get("/api/v1/appointments/{token}")
async def appointment(token: str, request: Request):
    limited = _limited(request, False)
    if limited is not None:
        return limited
    return _no_store(await run_in_threadpool(_store(request).view, token))


@router.post("/api/v1/appointments/{token}/cancel")
async def cancel(token: str, request: Request):
    limited = _limited_booking(request)
    if limited is not None:
        return limited
    return _no_store(await run_in_threadpool(_store(request).cancel, token))


# ---- the manager -----------------------------------------------------------------------------
@router.get("/api/v1/sites/{site}/appointment-plans/{service}")
async def get_plan(site: SitePath, service: ServicePath, request: Request, who: Manager):
    check_site(who, site)
    return await run_in_threadpool(_store(request).get_plan, site, service)


@router.put("/api/v1/sites/{site}/appointment-plans/{service}")
async def put_plan(site: SitePath, service: ServicePath, request: Request, who: Manager):
    check_site(who, site)
    try:
        data = await request.json()
    except ValueError:
        raise ApiError(422, "invalid_plan", "the plan must be a JSON object") from None
    return await run_in_threadpool(_store(request).set_plan, site, service, data, who.subject)


@router.get("/api/v1/sites/{site}/appointments/figures")
async def figures(site: SitePath, request: Request, who: Manager,
                  first: Annotated[date | None, Query(alias="from")] = None,
                  last: Annotated[date | None, Query(alias="to")] = None):
    check_site(who, site)
    today = utcnow().astimezone(request.app.state.dossiers.profile_for(site).tz).date()
    last = last or today
    first = first or last - timedelta(days=6)
    if first > last or (last - first).days > 366:
        raise ApiError(422, "invalid_period", "from must not be after to, and the period at most a year")
    return await run_in_threadpool(_store(request).figures, site, first, last)


# ---- the kiosk -------------------------------------------------------------------------------
@router.post("/api/v1/sites/{site}/appointments/check-in", status_code=201)
async def check_in(site: SitePath, body: CheckIn, request: Request, response: Response, who: Issuer):
    check_site(who, site)
    store = _store(request)
    if body.token:
        token = body.token.strip().split("?")[0].split("#")[0].rstrip("/").rsplit("/a/", 1)[-1]
        view, created = await run_in_threadpool(store.check_in, site, token, None, who.subject)
    elif body.citizen is not None:
        digest = verified_id_hash(request, body.citizen)
        view, created = await run_in_threadpool(store.check_in, site, None, digest, who.subject)
    else:
        raise ApiError(422, "invalid_request", "give the QR's token or the citizen's id_hash")
    if not created:
        response.status_code = 200
    return view
