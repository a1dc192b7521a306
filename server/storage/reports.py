"""The figures a centre sends to the province, for one site or all of them.

Dossiers: the cohort is every dossier *filed* in the period (received at the counter or by post,
submitted online), judged as of the period's last day (or today, if the period is still running):

* resolved by then → ahead / on time / late (resolution day against the legal due day);
* withdrawn / refused by then → withdrawn / refused;
* not yet accepted (online, still "submitted") → awaiting acceptance;
* still open → paused, or in progress within / past due. A dossier waiting for a supplement has
  its clock stopped: its due day is pushed back by the working days waited so far (the domain's
  ``current_due_date``), so the citizen's delay never makes it "past due".

The buckets partition the cohort (they sum to ``received.total``). The bucketing is one GROUP BY
over columns kept on the row (``due_date``, ``resolved_on``, ``closed_on``…) and covered by an
index, so a million dossiers are counted without reading the history. Only the few dossiers
waiting for a supplement are finished in Python, grouped by (site, due day, stop day).

Status "as of" the period end uses the dates on the row; a dossier paused then resumed after the
period end counts by its status now (pauses are not dated on the row).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date, timedelta
from typing import Any, Callable

from sqlalchemy import and_, case, func, or_, select

from server.domain.calendar import WorkingCalendar

from .db import Database
from .tables import dossiers, sites, ticket_ratings, tickets

RESOLVED = ("ahead", "on_time", "late")
IN_PROGRESS = ("within", "past_due")
CLOSED = ("withdrawn", "refused")
BUCKETS = (*RESOLVED, *IN_PROGRESS, "paused", *CLOSED, "awaiting")
CHANNELS = ("online", "direct", "postal")


def _empty() -> dict[str, dict[str, int]]:
    return {b: {c: 0 for c in CHANNELS} for b in BUCKETS}


def dossier_counts(db: Database, site: str | None, start: date, end: date, *, as_of: date,
                   calendar_for: Callable[[str], WorkingCalendar]) -> dict[str, dict[str, dict[str, int]]]:
    """{site: {bucket: {channel: n}}}. ``calendar_for(site)`` gives each site's calendar."""
    c = dossiers.c
    bucket = case(
        (and_(c.resolved_on <= as_of, c.resolved_on < c.due_date), "ahead"),
        (and_(c.resolved_on <= as_of, c.resolved_on == c.due_date), "on_time"),
        (c.resolved_on <= as_of, "late"),
        (and_(c.closed_on <= as_of, c.status == "withdrawn"), "withdrawn"),
        (and_(c.closed_on <= as_of, c.status == "refused"), "refused"),
        (or_(c.received_on.is_(None), c.received_on > as_of), "awaiting"),
        (c.status == "paused", "paused"),
        (and_(c.status == "supplement_requested", c.clock_stopped_on <= as_of), "stopped"),
        (c.due_date < as_of, "past_due"),
        else_="within",
    ).label("bucket")
    # Waiting for a supplement: finished in Python, so carry (due day, stop day) for those only.
    stopped = and_(c.status == "supplement_requested", c.clock_stopped_on <= as_of, c.received_on <= as_of)
    stop_due = case((stopped, c.due_date)).label("stop_due")
    stop_on = case((stopped, c.clock_stopped_on)).label("stop_on")
    where = [c.filed_on >= start, c.filed_on <= end]
    if site is not None:
        where.insert(0, c.site == site)
    result: dict[str, dict[str, dict[str, int]]] = defaultdict(_empty)
    with db.read() as conn:  # one pass over the covering index
        rows = conn.execute(
            select(c.site, bucket, c.channel, stop_due, stop_on, func.count().label("n")).where(*where)
            .group_by(c.site, bucket, c.channel, stop_due, stop_on)
        ).all()
    waiting: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        if r.bucket == "stopped":
            waiting[r.site].append(r)
        else:
            result[r.site][r.bucket][r.channel] += r.n
    for site_id, group in waiting.items():
        index = WorkdayIndex.cached(calendar_for(site_id), min(min(r.stop_due, r.stop_on) for r in group),
                                    max(max(r.stop_due for r in group), as_of))
        for r in group:
            due = index.provisional_due(r.stop_due, r.stop_on, as_of)
            result[site_id]["within" if as_of <= due else "past_due"][r.channel] += r.n
    return dict(result)


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


def summarise(counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Bucket × channel counts → the report's shape."""
    def total(bucket: str) -> int:
        return sum(counts[bucket].values())

    received = {ch: sum(counts[b][ch] for b in BUCKETS) for ch in CHANNELS}
    return {
        "received": {"total": sum(received.values()), **received},
        "resolved": {"total": sum(total(b) for b in RESOLVED), **{b: total(b) for b in RESOLVED}},
        "in_progress": {"total": sum(total(b) for b in IN_PROGRESS), **{b: total(b) for b in IN_PROGRESS}},
        "paused": total("paused"),
        "withdrawn": total("withdrawn"),
        "refused": total("refused"),
        "awaiting_acceptance": total("awaiting"),
        "by_channel": {ch: {b: counts[b][ch] for b in BUCKETS} for ch in CHANNELS},
    }


def dossier_report(db: Database, site: str | None, start: date, end: date, *, today: date,
                   calendar_for: Callable[[str], WorkingCalendar]) -> dict[str, Any]:
    as_of = min(end, today)
    per_site = dossier_counts(db, site, start, end, as_of=as_of, calendar_for=calendar_for)
    overall = _empty()
    for counts in per_site.values():
        for b in BUCKETS:
            for ch in CHANNELS:
                overall[b][ch] += counts[b][ch]
    names = site_names(db)
    report = {"site": site, "from": start.isoformat(), "to": end.isoformat(), "as_of": as_of.isoformat(),
              **summarise(overall)}
    if site is None:
        report["sites"] = [{"site": s, "name": names.get(s, s), **summarise(per_site[s])} for s in sorted(per_site)]
    else:
        report["name"] = names.get(site, site)
    return report


def site_names(db: Database) -> dict[str, str]:
    with db.read() as conn:
        return dict(conn.execute(select(sites.c.id, sites.c.name)).all())


# ---- tickets --------------------------------------------------------------------------------------

def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _stats(waits: list[float], services: list[float]) -> dict[str, Any]:
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
    t, r = tickets.c, ticket_ratings.c
    where = [t.day >= start, t.day <= end] + ([t.site == site] if site else [])
    rwhere = [r.day >= start, r.day <= end] + ([r.site == site] if site else [])
    with db.read() as conn:
        by_status = dict(conn.execute(select(t.status, func.count()).where(*where).group_by(t.status)).all())
        rows = conn.execute(
            select(t.service, t.counter, t.official, t.status, t.issued_at, t.called_at, t.started_at,
                   t.finished_at, t.est_wait_s).where(*where, t.called_at.is_not(None))
        ).all()
        rating_rows = conn.execute(
            select(r.rating, r.official, func.count()).where(*rwhere).group_by(r.rating, r.official)
        ).all()
    groups: dict[str, dict[str, tuple[list[float], list[float]]]] = {
        k: defaultdict(lambda: ([], [])) for k in ("service", "counter", "official")}
    errors: list[float] = []
    for row in rows:
        wait = (row.called_at - row.issued_at).total_seconds()
        service_s = None
        if row.status == "done" and row.finished_at is not None:
            service_s = (row.finished_at - (row.started_at or row.called_at)).total_seconds()
        for key in groups:
            bucket = groups[key][getattr(row, key) or "—"]
            bucket[0].append(wait)
            if service_s is not None:
                bucket[1].append(service_s)
        if row.est_wait_s is not None:
            errors.append(row.est_wait_s - wait)
    ratings_total = {"very_satisfied": 0, "satisfied": 0, "not_satisfied": 0}
    by_official: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ratings_total, 0))
    for rating, official, n in rating_rows:
        ratings_total[rating] += n
        by_official[official or "—"][rating] += n
    all_waits = [w for ws, _ in groups["service"].values() for w in ws]
    all_services = [s for _, ss in groups["service"].values() for s in ss]
    return {
        "site": site, "from": start.isoformat(), "to": end.isoformat(),
        "issued": sum(by_status.values()), "served": by_status.get("done", 0),
        "no_show": by_status.get("no_show", 0), "cancelled": by_status.get("cancelled", 0),
        "by_status": by_status,
        "overall": _stats(all_waits, all_services),
        **{f"by_{key}": {name: _stats(*vals) for name, vals in sorted(groups[key].items())} for key in groups},
        "estimate": {
            "samples": len(errors),
            "mean_abs_error_s": round(sum(abs(e) for e in errors) / len(errors), 1) if errors else None,
            "mean_error_s": round(sum(errors) / len(errors), 1) if errors else None,
        },
        "ratings": {"total": sum(ratings_total.values()), **ratings_total,
                    "by_official": dict(sorted(by_official.items()))},
    }
