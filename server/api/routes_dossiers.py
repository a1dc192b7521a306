"""Dossier endpoints: intake at the counter, status changes, apology, the printed slips."""

from __future__ import annotations

import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from devices.layout import render_apology, render_slip
from server.storage.dossier_store import DossierStore

from .deps import Official
from .errors import ApiError
from .models import ApologyBody, DossierCreate, DossierStatusBody

router = APIRouter(prefix="/api/v1")


async def _code(code: Annotated[str, Path(min_length=1, max_length=40)]) -> str:
    """A dossier code is looked up, never stored: one with a NUL (which PostgreSQL refuses, a 500
    there) is simply unknown, as it already was on SQLite."""
    if "\x00" in code:
        raise ApiError(404, "unknown_dossier", f"unknown dossier {code!r}")
    return code


CodePath = Annotated[str, Depends(_code)]


def _store(request: Request) -> DossierStore:
    return request.app.state.dossiers


@router.post("/dossiers", status_code=201)
def create_dossier(body: DossierCreate, request: Request, who: Official, response: Response):
    site = who.site  # a ticket of another site is then "unknown"; an admin takes the ticket's site
    if site is None and body.ticket_id is None:
        site = request.app.state.settings.site
    view, created = _store(request).receive(
        site=site, procedure_code=body.procedure_code, applicant_name=body.applicant_name, phone=body.phone,
        channel=body.channel, ticket_id=body.ticket_id, actor=who.subject, idempotency_key=body.idempotency_key,
        components_digitised=body.components_digitised,
    )
    if not created:
        response.status_code = 200  # a retried intake: the same dossier, never a second one
    return view


@router.get("/dossiers/{code}")
def get_dossier(code: CodePath, request: Request, who: Official):
    return _store(request).get(code, site=who.site)


@router.post("/dossiers/{code}/status")
def change_status(code: CodePath, body: DossierStatusBody, request: Request, who: Official):
    return _store(request).change_status(code, body.status, note=body.note, public_note=body.public_note,
                                         reason=body.reason, actor=who.subject, site=who.site,
                                         paid_online=body.paid_online, components_digitised=body.components_digitised,
                                         result_digitised=body.result_digitised)


@router.post("/dossiers/{code}/apology")
def apologise(code: CodePath, body: ApologyBody, request: Request, who: Official):
    store = _store(request)
    view = store.apologise(code, body.new_date, body.reason, actor=who.subject, site=who.site)
    slip = store.apology_view(code)
    return {**view, "slip": {"form": "04", "original_date": slip.original_date.isoformat(),
                             "new_date": slip.new_date.isoformat(), "reason": slip.reason,
                             "track_url": slip.track_url}}


@router.get("/dossiers/{code}/slip.png")
def slip_png(code: CodePath, request: Request, who: Official,
             form: Annotated[Literal["01", "04"], Query()] = "01",
             paper: Annotated[int, Query()] = 80):
    """The Mẫu 01 (or 04) slip as the printer would print it, for a screen preview or a PDF."""
    if paper not in (58, 80):  # not a Literal[58, 80]: a query string "80" would never match it
        raise ApiError(422, "invalid_request", "paper must be 58 or 80 (mm)")
    store = _store(request)
    store.get(code, site=who.site)  # 404 for another site's dossier
    image = render_slip(store.slip_view(code), paper) if form == "01" else render_apology(store.apology_view(code), paper)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return Response(out.getvalue(), media_type="image/png")
