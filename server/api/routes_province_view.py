"""The province view (province role): every centre's report side by side, ranked, with its sync
freshness, as JSON, Excel and a dashboard page; each centre drills down to its own dashboard.

Who sees what: a manager without a site (and an admin) sees every centre; a centre's manager
sees only their own centre (asking for another is 403 ``wrong_site``); any other role is 403.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from server.storage import province_report, province_xlsx

from .deps import Manager, check_site
from .errors import ApiError
from .routes_reports import PROVINCE_TZ, XLSX, Format, From, To, _calendar_for, _period
from .routes_track import templates

router = APIRouter(tags=["province view"])
RankBy = Annotated[str, Query(description="the figure to rank centres by (a key of docs/reports.md)")]


def _compute(request: Request, site: str | None, start, end, rank_by: str, with_tickets: bool = False):
    now = datetime.now(timezone.utc)
    tz = PROVINCE_TZ if site is None else request.app.state.dossiers.profile_for(site).tz  # 404: unknown site
    start, end = _period(start, end, now.astimezone(tz).date())
    weights = request.app.state.dossiers.profile_for(site).score_766 if site else None
    return province_report.province_report(
        request.app.state.db, start, end, today=now.astimezone(tz).date(), now=now,
        calendar_for=_calendar_for(request), site=site, rank_by=rank_by, weights_766=weights,
        with_tickets=with_tickets)


@router.get("/api/v1/province/report", summary="Every centre's dossier report side by side (province role)",
            description="The period report of docs/reports.md for every centre the caller may see (a manager "
                        "without a site: all; a centre's manager: their own), ranked by `rank_by` (default "
                        "`on_time_rate`), each with `sync` (last batch received, events held and still on the "
                        "way) and `drill` (the centre's own dashboard). `site=X` narrows it to one centre. "
                        "`format=xlsx`: the Excel workbook (ranking sheet first). `tickets=true`: also the "
                        "ticket report (waits, services, ratings) of the province and of each centre — it reads "
                        "every called ticket of the period, so it takes far longer than the dossier figures "
                        "over long periods; the page asks for it after drawing those.")
async def province_view(request: Request, who: Manager, start: From = None, end: To = None, fmt: Format = "json",
                        rank_by: RankBy = province_report.DEFAULT_RANK,
                        site: Annotated[str | None, Query(max_length=40)] = None,
                        tickets: Annotated[bool, Query(description="also the ticket report")] = False):
    if rank_by not in province_report.RANKABLE:
        raise ApiError(422, "invalid_rank_by", f"rank_by must be one of {', '.join(province_report.RANKABLE)}")
    if site is not None:
        check_site(who, site)
    site = site or who.site
    report = await run_in_threadpool(_compute, request, site, start, end, rank_by, tickets)
    if fmt == "xlsx":
        centre = "Toàn tỉnh — tất cả các trung tâm" if site is None else report["name"]
        body = await run_in_threadpool(province_xlsx.province_workbook, report, centre)
        name = f"bao-cao-tinh-{site or 'tat-ca'}-{report['from'].replace('-', '')}-{report['to'].replace('-', '')}.xlsx"
        return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return report


@router.get("/province", response_class=HTMLResponse, include_in_schema=False)
async def province_page(request: Request):
    """The page shell (no figures in the HTML): it signs in and draws the report JSON."""
    return templates.TemplateResponse(request, "province.html", {"lang": "vi"})



