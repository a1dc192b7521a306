"""The 2025 forms (Thông tư 03/2025/TT-VPCP) as the counter prints them: PNG or ESC/POS bytes.

``GET /api/v1/dossiers/{code}/forms/{number}`` gives form 01–06 of a dossier; ``format=png``
(the default) is the image a screen shows, ``format=escpos`` the exact bytes a receipt printer
takes (python-escpos' stream, QR as an image so any printer prints it), so a counter terminal
with a raw printer (``cat > /dev/usb/lp0``, ``nc printer 9100``) needs nothing else.
``GET /api/v1/sites/{site}/forms/07`` is the tracking book of a period: an A4 page (PNG), the
A4 worksheet (``xlsx``) or the receipt-paper list (``escpos``).
"""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from devices.forms import book_blocks, form_blocks, render_book_a4
from devices.layout import apology_blocks, flatten, paper_width, slip_blocks
from server.storage import forms

from .deps import Official, check_site
from .errors import ApiError
from .routes_dossiers import CodePath, _store

router = APIRouter(prefix="/api/v1")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _paper(paper: int) -> int:
    if paper not in (58, 80):
        raise ApiError(422, "invalid_request", "paper must be 58 or 80 (mm)")
    return paper


def _png(image) -> Response:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return Response(out.getvalue(), media_type="image/png")


def _escpos(blocks, paper: int) -> Response:
    # Imported here: python-escpos' import chain configures the root logger (basicConfig), which
    # would swallow the server's own log format and its "upgraded from" line if done at start-up.
    from devices.printer import ReceiptPrinter

    printer = ReceiptPrinter(f"sim://?paper={paper}&qr=image")
    return Response(printer.encode(blocks), media_type="application/octet-stream")


@router.get("/forms")
def list_forms(who: Official):
    """The forms' numbers and titles."""
    return {"circular": forms.CIRCULAR, "forms": forms.describe()}


@router.get("/dossiers/{code}/forms/{number}")
def dossier_form(code: CodePath, number: str, request: Request, who: Official,
                 format: Annotated[Literal["png", "escpos"], Query()] = "png",
                 paper: Annotated[int, Query()] = 80):
    paper = _paper(paper)
    store = _store(request)
    store.get(code, site=who.site)  # 404 for another site's dossier
    if number == "01":
        blocks = slip_blocks(store.slip_view(code), paper)
    elif number == "04":
        blocks = apology_blocks(store.apology_view(code), paper)
    elif number in forms.DOSSIER_FORMS:
        blocks = form_blocks(forms.dossier_form(store, code, number, site=who.site), paper)
    else:
        raise ApiError(404, "unknown_form", f"form {number!r} is not one of 01–06 (07 is the site's book: "
                                            "/api/v1/sites/{site}/forms/07)")
    if format == "escpos":
        return _escpos(blocks, paper)
    return _png(flatten(blocks, paper_width(paper)))


@router.get("/sites/{site}/forms/07")
def tracking_book(site: str, request: Request, who: Official,
                  date_from: Annotated[date, Query(alias="from")], date_to: Annotated[date, Query(alias="to")],
                  format: Annotated[Literal["png", "xlsx", "escpos"], Query()] = "png",
                  page: Annotated[int, Query(ge=1)] = 1, paper: Annotated[int, Query()] = 80):
    check_site(who, site)
    book = forms.book_view(_store(request), site, date_from, date_to)
    name = f"mau07-{site}-{date_from:%Y%m%d}-{date_to:%Y%m%d}"
    if format == "xlsx":
        return Response(forms.book_xlsx(book), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    if format == "escpos":
        return _escpos(book_blocks(book, _paper(paper)), paper)
    pages = render_book_a4(book)
    if page > len(pages):
        raise ApiError(404, "no_such_page", f"the book has {len(pages)} page(s)")
    response = _png(pages[page - 1])
    response.headers["X-Pages"] = str(len(pages))
    return response



