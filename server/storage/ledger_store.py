"""Writes a dossier's ledger (``server.domain.ledger``) into ``dossier_spans`` and
``dossier_flow_rollup``, inside the caller's transaction (the dossier's own write, the migration's
backfill, an import). Spans are replaced whole (a dossier has a handful); flows are only ever
added, since a day once past keeps what happened on it.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from sqlalchemy import Connection, bindparam, delete, insert
from sqlalchemy.dialects import postgresql, sqlite

from server.domain.ledger import Flow, Span

from . import pg_bulk
from .tables import dossier_flow_rollup, dossier_spans

OPEN_CLASS = 99  # span_class of a span still lasting
MAX_CLASS = 22  # 2**22 days: longer than any two dates apart


def span_class(span: Span) -> int:
    if span.end_on is None:
        return OPEN_CLASS
    return ((span.end_on - span.start_on).days - 1).bit_length()  # length <= 2**class


def span_rows(dossier_id: int, site: str, channel: str, procedure_code: str, spans: Iterable[Span]) -> list[dict]:
    return [dict(dossier_id=dossier_id, site=site, channel=channel, procedure_code=procedure_code,
                 official=s.official, state=s.state, start_on=s.start_on, end_on=s.end_on, span_class=span_class(s),
                 due_date=s.due_date, stopped_on=s.stopped_on, supplements=s.supplements) for s in spans]


def replace_spans(conn: Connection, dossier_id: int, site: str, channel: str, procedure_code: str,
                  spans: list[Span]) -> None:
    conn.execute(delete(dossier_spans).where(dossier_spans.c.dossier_id == dossier_id))
    rows = span_rows(dossier_id, site, channel, procedure_code, spans)
    if rows:
        conn.execute(insert(dossier_spans), rows)


_DELETE_SPANS_OF = delete(dossier_spans).where(dossier_spans.c.dossier_id.in_(bindparam("p_ids", expanding=True)))
_INSERT_SPANS = insert(dossier_spans)


def replace_spans_many(conn: Connection, site: str,
                       dossiers: Iterable[tuple[int, str, str, list[Span]]]) -> None:
    """``replace_spans`` for many dossiers ((dossier_id, channel, procedure_code, spans), …) in two
    statements: one delete, one insert of every row (the province's ingest of a batch)."""
    ids, rows = [], []
    for dossier_id, channel, procedure_code, spans in dossiers:
        ids.append(dossier_id)
        rows += span_rows(dossier_id, site, channel, procedure_code, spans)
    if ids:
        conn.execute(_DELETE_SPANS_OF, {"p_ids": sorted(ids)})
    if rows and conn.dialect.name == "postgresql":
        conn.execute(_UNNEST_SPANS, pg_bulk.arrays(rows, SPAN_COLUMNS))
    elif rows:
        conn.execute(_INSERT_SPANS, rows)


SPAN_COLUMNS = ("dossier_id", "site", "channel", "procedure_code", "official", "state", "start_on", "end_on",
                "span_class", "due_date", "stopped_on", "supplements")
_UNNEST_SPANS = pg_bulk.unnest_insert(dossier_spans, SPAN_COLUMNS)


def rollup_keys(site: str, channel: str, procedure_code: str, day, kind: str, official: str):
    """The six roll-up rows one flow counts in: its day, its month and its year (revision 0012), by
    procedure and by official."""
    for grain, when in (("d", day), ("m", day.replace(day=1)), ("y", day.replace(month=1, day=1))):
        yield grain, site, when, kind, channel, "procedure", procedure_code
        yield grain, site, when, kind, channel, "official", official


ROLLUP_KEY = ("grain", "site", "day", "kind", "channel", "dim", "value")


def add_flows(conn: Connection, site: str, channel: str, procedure_code: str, flows: Iterable[Flow]) -> None:
    """Count ``flows`` in the roll-up: one upsert executed with every key, in one order for every
    writer (so two concurrent writers never deadlock)."""
    add_flows_many(conn, site, [(channel, procedure_code, flows)])


def add_flows_many(conn: Connection, site: str, dossiers: Iterable[tuple[str, str, Iterable[Flow]]]) -> None:
    """``add_flows`` for many dossiers ((channel, procedure_code, flows), …): their counts summed
    per roll-up key, one upsert for all."""
    counts: Counter = Counter()
    for channel, procedure_code, flows in dossiers:
        for f in flows:
            counts.update(rollup_keys(site, channel, procedure_code, f.day, f.kind, f.official))
    if not counts:
        return
    rows = [dict(zip(ROLLUP_KEY, key), n=n) for key, n in sorted(counts.items())]  # one order for every writer
    if conn.dialect.name == "postgresql":  # unnest keeps the rows' order
        conn.execute(_UNNEST_UPSERT, pg_bulk.arrays(rows, (*ROLLUP_KEY, "n")))
    else:
        conn.execute(_upsert(conn.dialect.name), rows)


_UPSERTS: dict[str, object] = {}


def _upsert(dialect_name: str):
    """One constant statement per dialect, executed with many rows: compiled once, cached."""
    found = _UPSERTS.get(dialect_name)
    if found is None:
        stmt = (postgresql if dialect_name == "postgresql" else sqlite).insert(dossier_flow_rollup)
        found = _UPSERTS[dialect_name] = stmt.on_conflict_do_update(
            index_elements=list(ROLLUP_KEY), set_={"n": dossier_flow_rollup.c.n + stmt.excluded.n})
    return found


_UNNEST_UPSERT = pg_bulk.unnest_insert(dossier_flow_rollup, (*ROLLUP_KEY, "n"), (
    f" ON CONFLICT ({', '.join(ROLLUP_KEY)}) DO UPDATE SET n = {dossier_flow_rollup.name}.n + excluded.n"))
