"""Remote tickets: the phone's join page, joining, and checking in (kiosk scan or the centre's LAN).

* ``GET /r/{site}``: the join page (public, Vietnamese first, the tracking page's look).
* ``GET /api/v1/sites/{site}/remote``: services open to remote joining and places left.
* ``POST /api/v1/sites/{site}/remote-tickets``: join; the answer is the ticket with its
  ``track_url`` (the page the phone then follows). Refusals are 409 with a Vietnamese sentence.
* ``POST /api/v1/sites/{site}/check-in`` (a kiosk's token): the kiosk scanned a ticket's QR.
* ``POST /api/v1/track/{token}/check-in`` (public): "Tôi đã đến" on the page, accepted only from
  ``MOTCUA_LAN_NETWORKS`` (the client address as :func:`client_address` sees it: behind a proxy,
  only when the proxy is in ``MOTCUA_TRUSTED_PROXIES``; a request whose real client cannot be told
  from the proxy is refused).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Protocol

from fastapi import APIRouter, Path as PathParam, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import Field

from server.domain.errors import NotFound
from server.domain.notices import normalize_phone
from server.domain.remote import RemoteRefused
from server.storage.tracking import TOKEN_SHAPE

from .deps import Issuer, check_site, run_db
from .errors import ApiError, error_response
from .models import Id, NO_NUL, PathKey, Strict
from .routes_track import NOT_FOUND, _limited, templates
from .security import _trusted, client_address

router = APIRouter()
SitePath = Annotated[str, PathKey]
Token = Annotated[str, PathParam()]

OFF_LAN = ("Chỉ xác nhận được khi điện thoại của bạn đang kết nối Wi-Fi của trung tâm. Bạn cũng có thể quét mã "
           "QR trên trang này ở ki-ốt. / You can confirm only on the centre's Wi-Fi; or scan this page's QR code "
           "at the kiosk.")


class RemoteJoin(Strict):
    service: str = Id
    idempotency_key: str = Field(min_length=8, max_length=100, pattern=NO_NUL)
    proof: str | None = Field(default=None, max_length=100, pattern=NO_NUL,
                              description="from POST /api/v1/phone/verify/confirm (purpose remote)")
    phone: str | None = Field(default=None, max_length=40, pattern=NO_NUL,
                              description="only where the centre takes unverified numbers (MOTCUA_REMOTE_VERIFY_PHONE=false)")


class KioskCheckIn(Strict):
    token: str = Field(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class PhoneCheck(Protocol):
    """Turns what the join form sent into the phone number to hold the ticket, or refuses."""

    def phone_for(self, body: RemoteJoin, client: str) -> str: ...


class TypedPhone:
    """No verification: the number as typed, if it is a Vietnamese mobile (422 otherwise)."""

    verify = False

    def phone_for(self, body: RemoteJoin, client: str) -> str:
        return normalize_phone(body.phone or "")


class VerifiedPhone:
    """The number a one-time SMS code proved (``server.storage.phone_verify_store``), purpose remote."""

    verify = True

    def __init__(self, store) -> None:
        self.store = store

    def phone_for(self, body: RemoteJoin, client: str) -> str:
        if self.store.notifier is None:  # a setting, not an outage: 409 like any other refusal
            raise RemoteRefused("Trung tâm chưa bật nhắn tin nên chưa thể xác nhận số điện thoại để lấy số từ xa. "
                                 "Vui lòng đến trung tâm lấy số tại ki-ốt. / This centre cannot verify phones (no "
                                 "SMS), so it takes no remote tickets.", code="remote_needs_sms")
        return self.store.phone_for_proof(body.proof, "remote")


def _menu_for_phones(request: Request, menu: dict) -> dict:
    """A centre that needs verified phones but cannot send the code offers no service to join."""
    phones = request.app.state.remote_phones
    if phones.verify and phones.store.notifier is None:
        menu = {**menu, "services": []}
    return {**menu, "verify": phones.verify}


def _join_limited(request: Request):
    allowed, retry = request.app.state.remote_limiter.allow(client_address(request))
    if allowed:
        return None
    return error_response(429, "rate_limited", "Quá nhiều yêu cầu lấy số từ mạng của bạn. Vui lòng thử lại sau ít "
                          "phút. / Too many requests from your network; try again in a minute.",
                          {"Retry-After": str(max(1, int(retry + 0.999)))})


@router.get("/r/{site}", response_class=HTMLResponse, include_in_schema=False)
async def join_page(site: SitePath, request: Request, lang: str = "vi"):
    lang = "en" if lang == "en" else "vi"
    try:
        menu = _menu_for_phones(request, await run_db(request.app.state.db, request.app.state.remote.menu, site))
    except NotFound:
        return templates.TemplateResponse(request, "track_message.html", {"lang": lang, "reason": "unknown"},
                                          status_code=404)
    return templates.TemplateResponse(request, "remote.html", {"lang": lang, "menu": menu, "site": site},
                                      headers={"Cache-Control": "no-store"})


@router.get("/api/v1/sites/{site}/remote")
async def remote_menu(site: SitePath, request: Request):
    return _menu_for_phones(request, await run_db(request.app.state.db, request.app.state.remote.menu, site))


@router.post("/api/v1/sites/{site}/remote-tickets", status_code=201)
async def join(site: SitePath, body: RemoteJoin, request: Request, response: Response):
    limited = _join_limited(request)
    if limited is not None:
        return limited
    phones = request.app.state.remote_phones
    phone = await run_db(request.app.state.db, phones.phone_for, body, client_address(request))
    view, created = await run_db(request.app.state.db, request.app.state.remote.join, site, body.service, phone,
                                 body.idempotency_key)
    if not created:
        response.status_code = 200
    return view


@router.post("/api/v1/sites/{site}/check-in")
async def kiosk_check_in(site: SitePath, body: KioskCheckIn, request: Request, who: Issuer):
    check_site(who, site)
    try:
        return await run_db(request.app.state.db, request.app.state.remote.check_in, body.token, "kiosk", site=site)
    except NotFound:
        return JSONResponse({"error": NOT_FOUND}, status_code=404)


def on_lan(request: Request) -> bool:
    """The client is on the centre's own network (and is not a proxy standing in for someone)."""
    lan = request.app.state.lan_networks
    if not lan:
        return False
    address = client_address(request)
    if _trusted(address, request.app.state.trusted_proxies):
        return False  # the proxy itself, with no believable X-Forwarded-For: the real client is unknown
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in lan)


@router.post("/api/v1/track/{token}/check-in")
async def lan_check_in(token: Token, request: Request):
    limited = _limited(request, False)
    if limited is not None:
        return limited
    if not TOKEN_SHAPE.fullmatch(token):
        return JSONResponse({"error": NOT_FOUND}, status_code=404)
    if not on_lan(request):
        raise ApiError(403, "not_on_site", OFF_LAN)
    try:
        return await run_db(request.app.state.db, request.app.state.remote.check_in, token, "lan")
    except NotFound:
        return JSONResponse({"error": NOT_FOUND}, status_code=404)
