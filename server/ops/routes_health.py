"""``GET /api/v1/health``: the doctor's checks as JSON; 503 when the site cannot serve.

Also the answer to a request that meets a lost database: 503 ``database_unavailable`` with one
throttled log line, instead of a 500 and a traceback per request.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError

from .health import BrokerView, SyncView, run_checks
from .problems import ProblemLog, first_line

log = logging.getLogger("server.database")
router = APIRouter(tags=["health"])


def broker_view(app: FastAPI) -> BrokerView:
    publisher = getattr(app.state, "publisher", None)
    if publisher is None:
        return BrokerView(False, False)
    up = publisher.link.connected.is_set()
    where = f"{publisher.link.url.host}:{publisher.link.url.port}"
    return BrokerView(True, up, where if up else f"{where}: not connected")


@router.get("/api/v1/health", summary="Site health: database, schema, broker, publisher lag, disk, clock, devices",
            description="The same checks as `motcua doctor`, one entry per check with `level` "
                        "(ok / warn / fail), `detail` and `action` (what to do). Answers 503 when a check "
                        "fails (database unreachable, schema not current), else 200. No token needed.",
            responses={503: {"description": "the site cannot serve (see the failing checks)"}})
def health(request: Request) -> JSONResponse:
    app = request.app
    broker = broker_view(app)
    watch = getattr(app.state, "device_watch", None)
    if watch is not None:
        broker.bridge = watch.bridge
    settings = app.state.settings
    sync = SyncView(settings.site, settings.province_url) if settings.role == "site" else None
    report = run_checks(app.state.db, broker=broker, devices=watch.snapshot() if watch else {}, sync=sync)
    problem = getattr(app.state, "database_problem", None)
    if problem is not None and report.checks[0].level == "ok":
        problem.ok("reachable again")
    body = report.as_dict()
    body["mqtt"] = broker.connected
    return JSONResponse(body, status_code=200 if report.ok else 503)


def install_database_errors(app: FastAPI) -> None:
    problem = ProblemLog(log, "database", every_s=60)
    app.state.database_problem = problem

    async def _lost(request: Request, exc: Exception) -> JSONResponse:
        problem.fail(f"unreachable ({first_line(exc)}); requests answer 503 — run motcua doctor")
        return JSONResponse({"error": {"code": "database_unavailable",
                                       "message": "database unreachable; try again shortly"}},
                            status_code=503, headers={"Retry-After": "5"})

    app.add_exception_handler(OperationalError, _lost)
    app.add_exception_handler(InterfaceError, _lost)
