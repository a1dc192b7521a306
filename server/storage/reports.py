"""Shared pieces of the reports: the working-day index used to judge supplement waits, site
names, and the ticket report. The dossier report is ``period_report`` (the official period
convention, from the dated ledger).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from server.domain.calendar import WorkingCalendar

from .db import Database, plain_rows
from .tables import sites, ticket_ratings, tickets, users


class WorkdayIndex:
    """The working days of a span, numbered, so that counting and adding working days is a
    lookup instead of a day-by-day walk (thousands of open supplement waits in a province)."""

    def __init__(self, cal: WorkingCalendar, first: date, last: date) -> None:
        self.first = first - timedelta(days=7)
        self.days: list[date] = []
        self.rank: dict[date, int] = {}  # working days <= day
        day, count = self.first, 0
        end = last + timedelta(days=2 * 366)
        while day <= end:
            if cal.is_working_day(day):
                self.days.append(day)
                count += 1
            self.rank[day] = count
            day += timedelta(days=1)

    _cache: dict[tuple, "WorkdayIndex"] = {}

    @classmethod
    def cached(cls, cal: WorkingCalendar, first: date, last: date) -> "WorkdayIndex":
        """Shared by every calendar with the same overrides; spans whole years, so it is reused."""
        key = (cal.extra_days_off, cal.extra_working_days, first.year, last.year)
        found = cls._cache.get(key)
        if found is None:
            if len(cls._cache) > 64:
                cls._cache.clear()
            found = cls._cache[key] = cls(cal, date(first.year, 1, 1), date(last.year, 12, 31))
        return found

    def provisional_due(self, due: date, stopped_on: date, as_of: date) -> date:
        """The due day of a dossier waiting for a supplement since ``stopped_on``, seen on ``as_of``:
        the stored due day plus the working days waited (the domain's pause rule: the day of the
        request is not given back, the day the supplement arrives — here as_of — is)."""
        waited = max(0, self._counting_rank(as_of) - self._counting_rank(stopped_on))
        return self.days[self.rank[due] - 1 + waited]

    def _counting_rank(self, day: date) -> int:
        """Rank of the working day something arriving on ``day`` counts on (a day off → the next)."""
        rank = self.rank[day]
        previous = self.rank.get(day - timedelta(days=1), 0)
        return rank if rank > previous else rank + 1


def site_names(db: Database) -> dict[str, str]:
    with db.read() as conn:
        return dict(conn.execute(select(sites.c.id, sites.c.name)).all())


# ---- tickets --------------------------------------------------------------------------------------

def _p90(ordered: list[float]) -> float:
    """The 90th percentile of values already in order: the smallest with 90 % of them at or below it."""
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _stats(waits: list[float], services: list[float]) -> dict[str, Any]:
    waits, services = sorted(waits), sorted(services)  # once, for the median and the P90
    return {
        "called": len(waits), "served": len(services),
        "wait_median_s": round(statistics.median(waits)) if waits else None,
        "wait_p90_s": round(_p90(waits)) if waits else None,
        "service_median_s": round(statistics.median(services)) if services else None,
        "service_p90_s": round(_p90(services)) if services else None,
    }


def ticket_report(db: Database, site: str | None, start: date, end: date) -> dict[str, Any]:
    """Tickets issued / served / no-show; wait and service times per service, counter and official
    (median and p90); the wait estimate's error; satisfaction ratings."""
    with db.read() as conn:
        read = _read_tickets(conn, site, start, end)
    return _ticket_summary(site, start, end, *read)


def ticket_reports_by_site(db: Database, start: date, end: date, keys: list[str]
                           ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The ticket report over every site and each of ``keys``' from one read: what
    ``ticket_report(db, None, …)`` and ``ticket_report(db, key, …)`` give, without reading every
    site's rows twice (the province view, every centre side by side)."""
    with db.read() as conn:
        read = _read_tickets(conn, None, start, end)
    by_status, remote_rows, rows, full_names, rating_rows = read
    parts: dict[str, tuple] = {key: ({}, [], [], []) for key in keys}
    for k, n in by_status.items():
        if k[0] in parts:
            parts[k[0]][0][k] = n
    for i, listed in ((1, remote_rows), (2, rows), (3, rating_rows)):
        for r in listed:
            if r[0] in parts:
                parts[r[0]][i].append(r)
    per_site = {key: _ticket_summary(key, start, end, s, remote, called, full_names, rated)
                for key, (s, remote, called, rated) in parts.items()}
    return _ticket_summary(None, start, end, *read), per_site


def _read_tickets(conn, site: str | None, start: date, end: date) -> tuple:
    """The rows the definitions need, each with its site: counts by (site, status); remote counts by
    (site, status, checked in); every called ticket; officials' names; ratings by (site, rating, official)."""
    t, r = tickets.c, ticket_ratings.c
    where = [t.day >= start, t.day <= end] + ([t.site == site] if site else [])
    rwhere = [r.day >= start, r.day <= end] + ([r.site == site] if site else [])
    by_status = {(s, status): n for s, status, n in conn.execute(
        select(t.site, t.status, func.count()).where(*where).group_by(t.site, t.status)).all()}
    arrived = t.checked_in_at.is_not(None)
    remote_rows = conn.execute(select(t.site, t.status, arrived, func.count())
                               .where(*where, t.remote).group_by(t.site, t.status, arrived)).all()
    rows = _called(conn, select(t.site, t.service, t.counter, t.official, t.status, t.issued_at, t.called_at,
                                t.started_at, t.finished_at, t.est_wait_s).where(*where, t.called_at.is_not(None)))
    full_names = dict(conn.execute(select(users.c.username, users.c.full_name)
                                   .where(users.c.full_name.is_not(None))).all())
    rating_rows = conn.execute(
        select(r.site, r.rating, r.official, func.count()).where(*rwhere).group_by(r.site, r.rating, r.official)
    ).all()
    return by_status, remote_rows, rows, full_names, rating_rows


def _called(conn, stmt) -> list[tuple]:
    """Every called ticket as ``(site, service, counter, official, wait s, service s or None, estimate s
    or None)``: the wait from issue to the first call; the service, of a ticket served (``done``),
    from its start (its call if never started) to its finish (``plain_rows``: on PostgreSQL naive
    UTC times, whose differences are the same)."""
    out = []
    append = out.append
    for site, service, counter, official, status, issued, called, started, finished, est in plain_rows(conn, stmt):
        service_s = (finished - (started or called)).total_seconds() if status == "done" and finished else None
        append((site, service, counter, official, (called - issued).total_seconds(), service_s, est))
    return out


def _ticket_summary(site: str | None, start: date, end: date, by_site_status: dict[tuple[str, str], int],
                    remote_rows, rows, full_names: dict[str, str], rating_rows) -> dict[str, Any]:
    """The definitions, over the rows ``_read_tickets`` gave (of one site or of several)."""
    by_status: dict[str, int] = defaultdict(int)
    for (_, status), n in by_site_status.items():
        by_status[status] += n
    by_status = dict(by_status)
    groups: dict[str, dict[str, tuple[list[float], list[float]]]] = {
        k: defaultdict(lambda: ([], [])) for k in ("service", "counter", "official")}
    errors: list[float] = []
    by_service, by_counter, by_official_t = groups["service"], groups["counter"], groups["official"]
    for _, service, counter, official, wait, service_s, est in rows:
        for bucket in (by_service[service or "—"], by_counter[counter or "—"], by_official_t[official or "—"]):
            bucket[0].append(wait)
            if service_s is not None:
                bucket[1].append(service_s)
        if est is not None:
            errors.append(est - wait)
    ratings_total = {"very_satisfied": 0, "satisfied": 0, "not_satisfied": 0}
    by_official: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ratings_total, 0))
    for _, rating, official, n in rating_rows:
        ratings_total[rating] += n
        by_official[official or "—"][rating] += n
    all_waits = [w for ws, _ in groups["service"].values() for w in ws]
    all_services = [s for _, ss in groups["service"].values() for s in ss]
    return {
        "site": site, "from": start.isoformat(), "to": end.isoformat(),
        "issued": sum(by_status.values()), "served": by_status.get("done", 0),
        "no_show": by_status.get("no_show", 0), "cancelled": by_status.get("cancelled", 0),
        "by_status": by_status,
        # remote tickets (docs/remote.md): taken from a phone; checked in at the centre; set aside and
        # never back by the end of the period
        "remote": {"issued": sum(n for _, _, _, n in remote_rows),
                   "checked_in": sum(n for _, _, arrived, n in remote_rows if arrived),
                   "set_aside": sum(n for _, status, _, n in remote_rows if status == "set_aside")},
        "overall": _stats(all_waits, all_services),
        **{f"by_{key}": {name: _stats(*vals) for name, vals in sorted(groups[key].items())} for key in groups},
        "estimate": {
            "samples": len(errors),
            "mean_abs_error_s": round(sum(abs(e) for e in errors) / len(errors), 1) if errors else None,
            "mean_error_s": round(sum(errors) / len(errors), 1) if errors else None,
        },
        "official_names": {u: full_names[u] for u in sorted(set(groups["official"]) | set(by_official))
                           if full_names.get(u)},
        "ratings": {"total": sum(ratings_total.values()), **ratings_total,
                    "by_official": dict(sorted(by_official.items()))},
    }
