"""The period report (the official convention, ``server.domain.period_figures``) from the ledger.

Flows: one aggregate over ``dossier_flow_rollup``: the period's whole years from the yearly rows,
its whole months from the monthly rows, the days at its edges from the daily ones, so a year reads a few rows per site and month. Stocks — "carried over" (open at the end of the day before the period) and everything "at
the period's end" — from ``dossier_spans``: the spans holding on a day are found by one range
scan per length class (a span of class L that holds on day D started within the 2**L days up to
D), plus the spans still lasting. Both read only what was dated on or before the day judged, so
a report for a closed period is the same whenever it is run.

Within / past due of a dossier waiting for a supplement is judged with its due date pushed back
by the working days waited up to the day judged (``WorkdayIndex.provisional_due``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any, Callable

from sqlalchemy import case, func, select, union_all

from server.domain.calendar import WorkingCalendar
from server.domain.ledger import STOPPED, SUBMITTED, SUPPLEMENT
from server.domain import score766
from server.domain.period_figures import CHANNEL_LABELS, CHANNELS, definitions, figures

from .db import Database, plain_rows
from .ledger_store import MAX_CLASS, OPEN_CLASS
from .reports import WorkdayIndex, site_names
from .tables import dossier_flow_rollup, dossier_spans, procedures, ticket_ratings, users

Atoms = dict  # (site, channel, dim, value, ledger name) → n; dim "procedure" or "official"
DIMS = ("procedure", "official")


def _holding(site: str | None, day: date, *, detail: bool = True):
    """One SELECT per span length class: the spans that hold at the end of ``day``, counted per
    site, state, channel, procedure, official and whether past due on ``day`` (waits for a
    supplement keep their due and stop days, judged in Python). Without ``detail`` (the stock
    carried over: only how many are open), accepted spans only, by site, channel, procedure and
    official: far fewer groups to build and to send."""
    s = dossier_spans.c
    if detail:
        waiting = s.state == SUPPLEMENT
        keys = (s.site, s.state, s.channel, s.procedure_code, s.official,
                case((waiting, s.due_date), else_=None).label("due"),
                case((waiting, s.stopped_on), else_=None).label("stopped"),
                case((s.due_date < day, 1), else_=0).label("past"),
                case((s.supplements > 1, 1), else_=0).label("multi"))
        where = [s.site == site] if site else []
    else:
        keys = (s.site, s.channel, s.procedure_code, s.official)
        where = [*([s.site == site] if site else []), s.state != SUBMITTED]
    parts = []
    for span_class in (*range(MAX_CLASS + 1), OPEN_CLASS):
        if span_class == OPEN_CLASS:
            cond = [s.span_class == OPEN_CLASS, s.start_on <= day]
        else:
            low = day - timedelta(days=2 ** span_class - 1) if day.toordinal() > 2 ** span_class else date.min
            cond = [s.span_class == span_class, s.start_on >= low, s.start_on <= day, s.end_on > day]
        parts.append(select(*keys, func.count().label("n")).where(*cond, *where).group_by(*keys))
    return union_all(*parts)


def _pieces(start: date, end: date) -> list[tuple[str, date, date]]:
    """[start, end] as whole years (grain "y"), whole months (grain "m") and the days at its
    edges (grain "d"): a year over 150 centres reads one row per centre and key, not twelve."""
    first_year = start.year if (start.month, start.day) == (1, 1) else start.year + 1
    last_year = end.year if (end.month, end.day) == (12, 31) else end.year - 1
    if first_year > last_year:
        return _month_pieces(start, end)
    pieces = [("y", date(first_year, 1, 1), date(last_year, 12, 31))]
    if start < date(first_year, 1, 1):
        pieces += _month_pieces(start, date(first_year - 1, 12, 31))
    if date(last_year, 12, 31) < end:
        pieces += _month_pieces(date(last_year + 1, 1, 1), end)
    return pieces


def _month_pieces(start: date, end: date) -> list[tuple[str, date, date]]:
    """[start, end] as whole months (grain "m") and the days at its edges (grain "d")."""
    first = start if start.day == 1 else (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    after = (end + timedelta(days=1)).replace(day=1)  # the month after the last whole one
    if after <= first:
        return [("d", start, end)]
    pieces = [("m", first, after - timedelta(days=1))]
    if start < first:
        pieces.append(("d", start, first - timedelta(days=1)))
    if after <= end:
        pieces.append(("d", after, end))
    return pieces


def _single_bucket(start: date, end: date) -> bool:
    """Whether [start, end] is read from one roll-up row per key: one whole year, one whole month
    or one day."""
    pieces = _pieces(start, end)
    if start > end or len(pieces) != 1:
        return False
    grain, low, high = pieces[0]
    if grain == "y":
        return low.year == high.year
    if grain == "m":
        return (low.year, low.month) == (high.year, high.month)
    return low == high


def _flows(site: str | None, start: date, end: date):
    """The period's flows, one row per atom key (site, channel, dim, value, kind) and its count
    when the period is one year, month or day (the rows are read as they are, nothing to add up);
    otherwise one row per key and piece, added up by the caller."""
    f = dossier_flow_rollup.c
    keys = (f.site, f.channel, f.dim, f.value, f.kind)  # the atom's key, in its order
    where_site = [f.site == site] if site else []
    pieces = _pieces(start, end)
    if _single_bucket(start, end):
        grain, low, _ = pieces[0]
        return select(*keys, f.n).where(f.grain == grain, f.day == low, *where_site)
    return union_all(*(
        select(*keys, func.sum(f.n).label("n")).where(
            f.grain == grain, f.day >= low, f.day <= high, *where_site).group_by(*keys)
        for grain, low, high in pieces))


def ledger_atoms(db: Database, site: str | None, start: date, as_of: date,
                 calendar_for: Callable[[str], WorkingCalendar]) -> Atoms:
    """Everything the period [start, as_of] needs, as counts of ledger names."""
    before = start - timedelta(days=1)
    with db.read() as conn:  # one snapshot for the three reads
        if conn.dialect.name == "postgresql":
            # A province's year groups ~70,000 roll-up rows: in the default 4 MB the hash spills to disk.
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        flows = plain_rows(conn, _flows(site, start, as_of)) if start <= as_of else []
        opening = plain_rows(conn, _holding(site, before, detail=False))
        closing = plain_rows(conn, _holding(site, as_of))
    sums: dict[tuple, int] = {}  # a plain dict: ~100,000 increments a report, Counter's are slower
    if _single_bucket(start, as_of):
        sums = {row[:5]: row[5] for row in flows}  # one row per key already
    else:
        get = sums.get
        for site_id, channel, dim, value, kind, n in flows:
            key = (site_id, channel, dim, value, kind)
            sums[key] = get(key, 0) + n
    for site_id, channel, procedure, official, n in opening:
        _count(sums, site_id, channel, procedure, official, ("carried_over",), n)
    waits: dict[str, list] = defaultdict(list)
    for row in closing:
        site_id, state, channel, procedure, official, due, stopped_on, past, multi, n = row
        if state == SUBMITTED:
            names: tuple[str, ...] = ("awaiting_acceptance",)
        elif state == SUPPLEMENT:
            waits[site_id].append(row)
            continue
        else:
            names = _judged(bool(past), multi)
            if state == STOPPED:
                names = ("open_paused", *names)
        _count(sums, site_id, channel, procedure, official, names, n)
    for site_id, rows in waits.items():
        index = WorkdayIndex.cached(calendar_for(site_id), min(min(r[5], r[6]) for r in rows),
                                    max(max(r[5] for r in rows), as_of))
        past_due: dict[tuple[date, date], bool] = {}  # many waits share their days
        for site_id, _, channel, procedure, official, due, stopped_on, _, multi, n in rows:
            past = past_due.get((due, stopped_on))
            if past is None:
                past = past_due[due, stopped_on] = as_of > index.provisional_due(due, stopped_on, as_of)
            _count(sums, site_id, channel, procedure, official, ("open_supplement", *_judged(past, multi)), n)
    return sums


def _count(sums: dict, site_id: str, channel: str, procedure: str, official: str, names: tuple[str, ...],
           n: int) -> None:
    """Count ``n`` under each of ``names``, once by procedure and once by official."""
    for name in names:
        key = (site_id, channel, "procedure", procedure, name)
        sums[key] = sums.get(key, 0) + n
        key = (site_id, channel, "official", official, name)
        sums[key] = sums.get(key, 0) + n


_JUDGED = {(False, False): ("open_within",), (False, True): ("open_within", "open_within_multi_supplement"),
           (True, False): ("open_past_due",), (True, True): ("open_past_due",)}


def _judged(past_due: bool, multi: int) -> tuple[str, ...]:
    """Within / past due; Decision 766: a second supplement request counts late (within, yet late)."""
    return _JUDGED[past_due, bool(multi)]


def grouped(atoms: Atoms, field_of: Callable[[str], str]) -> dict[str, dict[str, Counter]]:
    """Every grouping the report shows: the total, by channel, field, procedure and site
    (procedure atoms), by official. A province has ~100,000 atoms: one pass sums them per
    procedure, per site and per official (plain dicts); the total, channels and fields are then
    added up from the few per-procedure sums."""
    by_procedure: dict[tuple[str, str, str], int] = {}
    by_site: dict[tuple[str, str, str], int] = {}
    by_official: dict[tuple[str, str, str], int] = {}
    p_get, s_get, o_get = by_procedure.get, by_site.get, by_official.get
    for (site_id, channel, d, value, name), n in atoms.items():
        if d == "procedure":
            key = (value, name, channel)
            by_procedure[key] = p_get(key, 0) + n
            key = (site_id, name, channel)
            by_site[key] = s_get(key, 0) + n
        elif d == "official":
            key = (value, name, channel)
            by_official[key] = o_get(key, 0) + n
    g: dict[str, dict[str, Counter]] = {k: defaultdict(Counter) for k in (
        "all", "channel", "field", "procedure", "official", "sites")}
    total, channel_g, field_g, procedure_g = g["all"]["all"], g["channel"], g["field"], g["procedure"]
    fields: dict[str, str] = {}
    for (value, name, channel), n in by_procedure.items():
        key = (name, channel)
        procedure_g[value][key] += n
        total[key] += n
        channel_g[channel][key] += n
        field = fields.get(value)
        if field is None:
            field = fields[value] = field_of(value)
        field_g[field][key] += n
    for (site_id, name, channel), n in by_site.items():
        g["sites"][site_id][name, channel] += n
    for (value, name, channel), n in by_official.items():
        g["official"][value][name, channel] += n
    return g


def ratings_in(db: Database, site: str | None, start: date, end: date) -> dict[str, int]:
    r = ticket_ratings.c
    with db.read() as conn:
        return dict(conn.execute(select(r.rating, func.count()).where(
            r.day >= start, r.day <= end, *([r.site == site] if site else [])).group_by(r.rating)).all())


def period_report(db: Database, site: str | None, start: date, end: date, *, today: date,
                  calendar_for: Callable[[str], WorkingCalendar],
                  weights_766: dict | None = None) -> dict[str, Any]:
    """The report; ``weights_766``: the site's Decision 766 weights (defaults when None)."""
    as_of = min(end, today)
    atoms = ledger_atoms(db, site, start, as_of, calendar_for)
    names = site_names(db)
    with db.read() as conn:
        procs = {r.code: r for r in conn.execute(select(procedures.c.code, procedures.c.name_vi,
                                                        procedures.c.field_vi)).all()}
        full_names = dict(conn.execute(select(users.c.username, users.c.full_name)).all())
    def rows(groups: dict[str, Counter], label: Callable[[str], str], order=None) -> list[dict[str, Any]]:
        keys = order if order is not None else sorted(groups, key=lambda k: (label(k), k))
        return [{"key": k, "label": label(k), "figures": figures(groups.get(k, Counter()))} for k in keys]

    def field_of(procedure: str) -> str:
        p = procs.get(procedure)
        return (p.field_vi if p is not None and p.field_vi else "Khác")

    def official_label(username: str) -> str:
        if not username:
            return "Chưa tiếp nhận"
        return full_names.get(username) or username

    g = grouped(atoms, field_of)
    total = g["all"].get("all", Counter())
    report: dict[str, Any] = {
        "site": site, "from": start.isoformat(), "to": end.isoformat(), "as_of": as_of.isoformat(),
        "closed": as_of == end and end < today,
        "figures": figures(total),
        "breakdowns": {
            "channel": rows(g["channel"], lambda k: CHANNEL_LABELS[k], order=list(CHANNELS)),
            "field": rows(g["field"], lambda k: k),
            "procedure": rows(g["procedure"], lambda k: f"{k} — {procs[k].name_vi}" if k in procs else k),
            "official": rows(g["official"], official_label),
        },
        "decision_766_inputs": {name: sum(n for (k, _), n in total.items() if k == name)
                                for name in score766.INPUT_NAMES},
        "definitions": definitions(),
    }
    report["decision_766"] = score766.score(report["figures"], report["decision_766_inputs"],
                                            ratings_in(db, site, start, as_of), weights_766)
    if site is None:
        report["name"] = "Toàn tỉnh"
        report["sites"] = rows(g["sites"], lambda k: names.get(k, k))
    else:
        report["name"] = names.get(site, site)
    return report

