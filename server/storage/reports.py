"""The figures a centre sends to the province, for one site or all of them.

Dossiers: the cohort is every dossier *filed* in the period (received at the counter or by post,
submitted online), judged as of the period's last day (or today, if the period is still running):

* resolved by then → ahead / on time / late (resolution day against the legal due day);
* withdrawn / refused by then → withdrawn / refused;
* not yet accepted (online, still "submitted") → awaiting acceptance;
* still open → paused, or in progress within / past due. A dossier waiting for a supplement has
  its clock stopped: its due day is pushed back by the working days waited so far (the domain's
  ``current_due_date``), so the citizen's delay never makes it "past due".

The buckets partition the cohort (they sum to ``received.total``). ``bucket_as_of`` is the rule;
as a function of the day judged it changes only on the dates of the row, so each dossier has a
day from which its bucket no longer changes (``settle``). The store keeps, in the transaction of
every dossier write, a roll-up of settled buckets per (site, filed day, channel) and one report row
per dossier. A report adds up the roll-up (a few rows per site and day) and corrects it with the
dossiers not settled by the day judged (open ones, supplement waits, those resolved after a past
period's end), found by range scans per lag class. Supplement waits are finished in Python,
grouped by (site, due day, stop day).

Status "as of" the period end uses the dates on the row; a dossier paused then resumed after the
period end counts by its status now (pauses are not dated on the row).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date, timedelta
from typing import Any, Callable

from sqlalchemy import Date, String, and_, cast, func, null, select, union_all

from server.domain.calendar import WorkingCalendar

from .db import Database
from .tables import (
    dossier_report_rollup,
    dossier_report_rows,
    sites,
    ticket_ratings,
    tickets,
)

RESOLVED = ("ahead", "on_time", "late")
IN_PROGRESS = ("within", "past_due")
CLOSED = ("withdrawn", "refused")
BUCKETS = (*RESOLVED, *IN_PROGRESS, "paused", *CLOSED, "awaiting")
CHANNELS = ("online", "direct", "postal")


def _empty() -> dict[str, dict[str, int]]:
    return {b: {c: 0 for c in CHANNELS} for b in BUCKETS}


STOPPED = "stopped"  # waiting for a supplement: within / past due depends on the day judged
INPUTS = ("status", "received_on", "due_date", "resolved_on", "closed_on", "clock_stopped_on")
ALWAYS, NEVER = date.min, date.max  # ``settles_on`` of a bucket that never / always changes
NEVER_CLASS = 99  # lag class of dossiers that never settle (waiting for a supplement)
MAX_CLASS = 22  # 2**22 days: longer than any two dates apart


def bucket_as_of(status: str, received_on: date | None, due_date: date | None, resolved_on: date | None,
                 closed_on: date | None, clock_stopped_on: date | None, day: date) -> str:
    """The bucket of a dossier judged on ``day`` (``STOPPED``: finish with ``provisional_due``)."""
    if resolved_on is not None and resolved_on <= day:
        if due_date is not None and resolved_on <= due_date:
            return "ahead" if resolved_on < due_date else "on_time"
        return "late"
    if closed_on is not None and closed_on <= day and status in CLOSED:
        return status
    if received_on is None or received_on > day:
        return "awaiting"
    if status == "paused":
        return "paused"
    if status == "supplement_requested" and clock_stopped_on is not None and clock_stopped_on <= day:
        return STOPPED
    return "past_due" if due_date is not None and due_date < day else "within"


def settle(filed_on: date, status: str, received_on: date | None, due_date: date | None,
           resolved_on: date | None, closed_on: date | None, clock_stopped_on: date | None) -> tuple[str, date, int]:
    """(bucket once settled, day from which it holds, lag class): ``bucket_as_of`` changes only on
    the row's dates, so the last change is found by judging the row on each of them."""
    inputs = (status, received_on, due_date, resolved_on, closed_on, clock_stopped_on)
    points = {received_on, resolved_on, closed_on, clock_stopped_on}
    if due_date is not None and due_date < NEVER:
        points.add(due_date + timedelta(days=1))  # past due from the day after
    days = sorted(p for p in points if p is not None and p > ALWAYS)
    final = bucket_as_of(*inputs, days[-1] if days else ALWAYS)
    if final == STOPPED:
        return final, NEVER, NEVER_CLASS
    settles = ALWAYS
    for i in range(len(days) - 1, -1, -1):
        if bucket_as_of(*inputs, days[i - 1] if i else ALWAYS) != final:
            settles = days[i]
            break
    lag = (settles - filed_on).days
    return final, settles, 0 if lag <= 1 else (lag - 1).bit_length()  # lag <= 2**class


def _unsettled(k: Any, start: date, end: date, as_of: date) -> list[Any]:
    """Conditions, one per lag class, matching the rows of the cohort whose bucket may still
    change after ``as_of``: a dossier of lag class L settles within 2**L days of filing, so only
    the last 2**L days of filings can hold them. Each is one seek on the covering index."""
    terms = []
    for lag_class in (*range(MAX_CLASS + 1), NEVER_CLASS):
        span = 2 ** lag_class - 1
        low = start if lag_class == NEVER_CLASS or as_of.toordinal() - span <= start.toordinal() \
            else as_of - timedelta(days=span)
        terms.append(and_(k.settle_class == lag_class, k.filed_on >= low, k.filed_on <= end, k.settles_on > as_of))
    return terms


def dossier_counts(db: Database, site: str | None, start: date, end: date, *, as_of: date,
                   calendar_for: Callable[[str], WorkingCalendar]) -> dict[str, dict[str, dict[str, int]]]:
    """{site: {bucket: {channel: n}}}. ``calendar_for(site)`` gives each site's calendar."""
    r, k = dossier_report_rollup.c, dossier_report_rows.c
    settled = select(
        r.site, r.channel, r.bucket, *(cast(null(), Date if f.endswith("_on") or f == "due_date" else String)
                                       .label(f) for f in INPUTS), func.sum(r.n).label("n"),
    ).where(r.filed_on >= start, r.filed_on <= end, *([r.site == site] if site else [])
            ).group_by(r.site, r.channel, r.bucket)
    keys = (k.site, k.channel, k.bucket, *(k[f] for f in INPUTS))
    moving = [select(*keys, func.count().label("n")).where(term, *([k.site == site] if site else [])).group_by(*keys)
              for term in _unsettled(k, start, end, as_of)]
    with db.read() as conn:  # one statement, one snapshot
        rows = conn.execute(union_all(settled, *moving)).all()
    result: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: {b: {c: 0 for c in CHANNELS} for b in (*BUCKETS, STOPPED)})
    waiting: dict[str, list[tuple]] = defaultdict(list)
    for site_id, channel, final, *inputs, n in rows:
        counts = result[site_id]
        if inputs[0] is None:  # roll-up (no status): settled buckets, taken as they are
            counts[final][channel] += n
            continue
        counts[final][channel] -= n  # not settled by as_of: judged again
        bucket = bucket_as_of(*inputs, as_of)
        if bucket == STOPPED:
            waiting[site_id].append((channel, inputs[2], inputs[5], n))  # due day, stop day
        else:
            counts[bucket][channel] += n
    for site_id, group in waiting.items():
        index = WorkdayIndex.cached(calendar_for(site_id), min(min(due, stop) for _, due, stop, _ in group),
                                    max(max(due for _, due, _, _ in group), as_of))
        judged: dict[tuple[date, date], str] = {}
        counts = result[site_id]
        for channel, due, stop, n in group:
            bucket = judged.get((due, stop))
            if bucket is None:
                bucket = judged[due, stop] = \
                    "within" if as_of <= index.provisional_due(due, stop, as_of) else "past_due"
            counts[bucket][channel] += n
    for counts in result.values():
        counts.pop(STOPPED)  # roll-up's waits, all re-judged above
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
