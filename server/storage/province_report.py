"""The province view: every centre's period report side by side, ranked, with its sync freshness.

No figure is defined here. The figures are ``period_report``'s — the same function a site runs —
over the ledger the province replays from each site's journal (``server.sync.projector``): for
the whole province ``period_report(site=None)``, whose per-centre rows come from the same atoms
as ``period_report(site=X)``; for one centre's manager ``period_report(site=X)`` itself. This
module only adds what a province needs on top: every registered centre (one with no dossiers
shows zeros), a rank by one figure, and how fresh each centre's data is.

Tickets likewise: ``tickets`` (the province's, or the one centre's) and each centre's ``tickets``
are the site's ticket report (``reports.ticket_report``; for every centre at once
``reports.ticket_reports_by_site``, the same definitions over one read) over the tickets the
province rebuilds from each site's ticket and call events (``server.sync.ticket_projector``).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any, Callable

from sqlalchemy import select

from server.domain.calendar import WorkingCalendar
from server.domain.period_figures import DEFINITIONS, figures

from .db import Database
from .period_report import period_report
from .reports import ticket_report, ticket_reports_by_site
from .tables import province_sites

RANKABLE = tuple(d.key for d in DEFINITIONS)
DEFAULT_RANK = "on_time_rate"
LOWER_IS_BETTER = {"resolved_late", "open_past_due", "late_total", "withdrawn", "refused", "not_accepted",
                   "apologies", "supplement_requests"}
"""Figures where fewer is better: the rank orders them ascending."""


def freshness(db: Database, now: datetime) -> dict[str, dict[str, Any]]:
    """Per registered site: when its last batch arrived, how many events the province holds, how
    many the site said it had then (the difference was still on the way), flags."""
    with db.read() as conn:
        rows = conn.execute(select(province_sites)).all()
    out = {}
    for r in rows:
        declared = max(r.site_head_seq or 0, r.head_seq)
        out[r.site] = {
            "name": r.name, "synced_at": r.synced_at.isoformat() if r.synced_at else None,
            "age_s": round((now - r.synced_at).total_seconds()) if r.synced_at else None,
            "held_seq": r.head_seq, "site_head_seq": declared, "pending": declared - r.head_seq,
            "unprojected": r.unprojected, "gap": r.gap, "broken": r.broken,
        }
    return out


def _rank(rows: list[dict[str, Any]], key: str) -> None:
    """Competition ranking (1, 2, 2, 4) by ``key``; a centre without a value (a rate over 0) last."""
    worse_first = key in LOWER_IS_BETTER

    def order(row):
        v = row["figures"][key]
        return (v is None, (v if worse_first else -v) if v is not None else 0, row["label"], row["key"])

    rows.sort(key=order)
    previous, rank = object(), 0
    for i, row in enumerate(rows, 1):
        value = row["figures"][key]
        if value != previous:
            rank, previous = i, value
        row["rank"] = rank if value is not None else None


def province_report(db: Database, start: date, end: date, *, today: date, now: datetime,
                    calendar_for: Callable[[str], WorkingCalendar], site: str | None = None,
                    rank_by: str = DEFAULT_RANK, weights_766: dict | None = None,
                    with_tickets: bool = False) -> dict[str, Any]:
    """The whole province (``site`` None) or one centre, with ``centres``: one row per centre
    (``key``, ``label``, ``figures``, ``rank``, ``sync``, ``drill``), best first.

    ``with_tickets``: also ``tickets`` (and each centre's). Asked for separately because its cost
    grows with every ticket of the period (a median and a P90 per centre and service need every
    wait): 150 centres × 5,000 tickets over a year took ~7 s here, against ~0.4 s for the dossier
    figures (``tests/bench/bench_province_report.py --tickets-per-centre``)."""
    fresh = freshness(db, now)
    report = period_report(db, site, start, end, today=today, calendar_for=calendar_for, weights_766=weights_766)
    if site is None:
        rows = {r["key"]: r for r in report.pop("sites")}
        for key, f in fresh.items():  # a registered centre with nothing in the period: zeros
            rows.setdefault(key, {"key": key, "label": f["name"], "figures": figures(Counter())})
        centres = list(rows.values())
    else:
        centres = [{"key": site, "label": report["name"], "figures": report["figures"]}]
    tickets: dict[str, Any] | None = None
    if with_tickets and site is None:
        report["tickets"], tickets = ticket_reports_by_site(db, start, end, [row["key"] for row in centres])
    elif with_tickets:
        report["tickets"] = ticket_report(db, site, start, end)
        tickets = {site: report["tickets"]}
    for row in centres:
        if tickets is not None:
            row["tickets"] = tickets[row["key"]]
        row["sync"] = fresh.get(row["key"])
        row["drill"] = f"/dashboard/{row['key']}?from={report['from']}&to={report['to']}"
    _rank(centres, rank_by)
    report["centres"] = centres
    report["rank_by"] = rank_by
    report["now"] = now.isoformat()
    return report
