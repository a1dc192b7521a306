"""Reports for a site and for the province (all sites), as JSON or Excel; the director's dashboard."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from server.storage import period_report, period_xlsx, reports, reports_xlsx
from server.storage.tables import counters, services, users

from .deps import Manager, check_site
from .errors import ApiError
from .models import PathKey
from .routes_track import templates

router = APIRouter()
SitePath = Annotated[str, PathKey]
From = Annotated[date | None, Query(alias="from")]
To = Annotated[date | None, Query(alias="to")]
Format = Annotated[Literal["json", "xlsx"], Query(alias="format")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PROVINCE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_DAYS = 3 * 366


def _period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    end = end or today
    start = start or end.replace(day=1)
    if start > end:
        raise ApiError(422, "invalid_period", "'from' is after 'to'")
    if (end - start).days > MAX_DAYS:
        raise ApiError(422, "invalid_period", f"a report covers at most {MAX_DAYS} days")
    return start, end


def _today(request: Request, site: str | None) -> date:
    tz = PROVINCE_TZ if site is None else request.app.state.dossiers.profile_for(site).tz  # 404: unknown site
    return datetime.now(timezone.utc).astimezone(tz).date()


def _calendar_for(request: Request):
    store = request.app.state.dossiers
    return lambda site: store.profile_for(site).calendar


def _province(who) -> None:
    if who.site is not None:
        raise ApiError(403, "wrong_site", "province reports are for province managers and admins")


def _names(request: Request, site: str | None) -> dict[str, dict[str, str]]:
    where_s = [services.c.site == site] if site else []
    where_c = [counters.c.site == site] if site else []
    with request.app.state.db.read() as conn:
        svc = dict(conn.execute(select(services.c.id, services.c.name_vi).where(*where_s)).all())
        ctr = dict(conn.execute(select(counters.c.id, counters.c.label).where(*where_c)).all())
        people = dict(conn.execute(select(users.c.username, users.c.full_name).where(users.c.full_name.is_not(None))).all())
    return {"service": svc, "counter": ctr, "official": people}


def _centre(request: Request, site: str | None) -> str:
    if site is None:
        return "Toàn tỉnh — tất cả các trung tâm"
    return reports.site_names(request.app.state.db).get(site, site)


async def _dossiers(request: Request, site: str | None, start, end, fmt):
    today = await run_in_threadpool(_today, request, site)
    start, end = _period(start, end, today)
    report = await run_in_threadpool(
        period_report.period_report, request.app.state.db, site, start, end,
        today=today, calendar_for=_calendar_for(request),
        weights_766=request.app.state.dossiers.profile_for(site).score_766 if site else None)
    if fmt == "xlsx":
        body = await run_in_threadpool(period_xlsx.period_workbook, report, _centre(request, site))
        name = f"bao-cao-ho-so-{site or 'tinh'}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
        return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return report


async def _tickets(request: Request, site: str | None, start, end, fmt):
    start, end = _period(start, end, await run_in_threadpool(_today, request, site))
    report = await run_in_threadpool(reports.ticket_report, request.app.state.db, site, start, end)
    if fmt == "xlsx":
        body = await run_in_threadpool(reports_xlsx.ticket_workbook, report, _centre(request, site),
                                       _names(request, site))
        name = f"bao-cao-luot-phuc-vu-{site or 'tinh'}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
        return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})
    if site is not None:  # booked / arrived / no-show, appointment vs walk-in tickets, notices (docs/appointments.md)
        report["appointments"] = await run_in_threadpool(request.app.state.appointments.figures, site, start, end)
    return report


@router.get("/api/v1/sites/{site}/reports/dossiers")
async def site_dossiers(site: SitePath, request: Request, who: Manager, start: From = None, end: To = None,
                        fmt: Format = "json"):
    check_site(who, site)
    return await _dossiers(request, site, start, end, fmt)


@router.get("/api/v1/sites/{site}/reports/tickets")
async def site_tickets(site: SitePath, request: Request, who: Manager, start: From = None, end: To = None,
                       fmt: Format = "json"):
    check_site(who, site)
    return await _tickets(request, site, start, end, fmt)


@router.get("/api/v1/reports/dossiers")
async def province_dossiers(request: Request, who: Manager, start: From = None, end: To = None,
                            fmt: Format = "json"):
    _province(who)
    return await _dossiers(request, None, start, end, fmt)


@router.get("/api/v1/reports/tickets")
async def province_tickets(request: Request, who: Manager, start: From = None, end: To = None,
                           fmt: Format = "json"):
    _province(who)
    return await _tickets(request, None, start, end, fmt)


@router.get("/dashboard/{site}", response_class=HTMLResponse, include_in_schema=False)
async def dashboard(site: SitePath, request: Request):
    """A page shell: it signs in with the manager's own account and draws the report JSON as
    inline SVG. No figures are in the HTML, so the page itself needs no token."""
    await run_in_threadpool(_today, request, site)  # 404 for an unknown site
    centre = await run_in_threadpool(_centre, request, site)  # public anyway: it heads every tracking page
    # At the province this page shows dossiers only, with a link back to the province view, which has each
    # centre's ticket figures (replayed from its journal: docs/province.md).
    province = request.app.state.settings.role == "province"
    return templates.TemplateResponse(request, "dashboard.html", {"site": site, "centre": centre, "lang": "vi",
                                                                  "province": province})
