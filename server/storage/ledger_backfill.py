"""Build the period ledger of every dossier already held, from its dated history (migration 0008,
and after a history import). Pages by dossier id, loading each page's events and apologies in
two queries."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import time

from sqlalchemy import Connection, delete, insert, inspect, select

from server.domain import dossiers as d
from server.domain.ledger import ledger

from .ledger_store import ROLLUP_KEY, rollup_keys, span_rows
from .site_settings import build_profile
from .tables import dossier_apologies, dossier_events, dossier_flow_rollup, dossier_spans, dossiers, sites

PAGE = 5_000


def dossier_from(row, events, apologies) -> d.Dossier:
    history = tuple(d.StatusChange(d.DossierStatus(e.from_status) if e.from_status else None,
                                   d.DossierStatus(e.to_status), e.actor, e.at, e.note,
                                   paid_online=getattr(e, "paid_online", None),
                                   components_digitised=getattr(e, "components_digitised", None),
                                   result_digitised=getattr(e, "result_digitised", None)) for e in events)
    slips = tuple(d.ApologySlip(row.code, a.due_date, a.new_date, a.issued_at, a.actor, a.reason) for a in apologies)
    return d.Dossier(code=row.code, procedure_code=row.procedure_code, legal_days=row.legal_days,
                     channel=d.Channel(row.channel), status=d.DossierStatus(row.status), history=history,
                     apologies=slips,
                     cutoff=time.fromisoformat(row.cutoff) if getattr(row, "cutoff", None) else None)


def rebuild(conn: Connection) -> int:
    """Replace the whole ledger with one computed from the histories; returns dossiers seen."""
    conn.execute(delete(dossier_spans))
    conn.execute(delete(dossier_flow_rollup))
    calendars = {r.id: build_profile(r.id, r.name, r.address, r.timezone, r.settings).calendar
                 for r in conn.execute(select(sites)).all()}
    flows: Counter = Counter()
    last, seen = 0, 0
    # Only the columns this revision is sure to have: migration 0008 runs this before later
    # revisions add columns (0009's dossiers.cutoff, read when it is there).
    have = {c["name"] for c in inspect(conn).get_columns("dossiers")}
    wanted = [dossiers.c[name] for name in ("id", "site", "code", "procedure_code", "legal_days", "channel",
                                            "status", "cutoff") if name in have]
    have_events = {c["name"] for c in inspect(conn).get_columns("dossier_events")}
    event_columns = [dossier_events.c[name] for name in ("id", "dossier_id", "at", "from_status", "to_status",
                                                         "actor", "note", "paid_online", "components_digitised",
                                                         "result_digitised") if name in have_events]
    while True:
        page = conn.execute(select(*wanted).where(dossiers.c.id > last).order_by(dossiers.c.id).limit(PAGE)).all()
        if not page:
            break
        ids = [r.id for r in page]
        events, slips = defaultdict(list), defaultdict(list)
        for e in conn.execute(select(*event_columns).where(dossier_events.c.dossier_id.in_(ids))
                              .order_by(dossier_events.c.id)).all():
            events[e.dossier_id].append(e)
        for a in conn.execute(select(dossier_apologies).where(dossier_apologies.c.dossier_id.in_(ids))
                              .order_by(dossier_apologies.c.id)).all():
            slips[a.dossier_id].append(a)
        rows = []
        for r in page:
            if not events[r.id]:
                continue  # no history to read (should not happen): nothing to count
            spans, found = ledger(dossier_from(r, events[r.id], slips[r.id]), calendars[r.site])
            rows += span_rows(r.id, r.site, r.channel, r.procedure_code, spans)
            for f in found:
                flows.update(rollup_keys(r.site, r.channel, r.procedure_code, f.day, f.kind, f.official))
        if rows:
            conn.execute(insert(dossier_spans), rows)
        seen += len(page)
        last = page[-1].id
    batch = [dict(zip(ROLLUP_KEY, k), n=n) for k, n in flows.items()]
    for i in range(0, len(batch), PAGE):
        conn.execute(insert(dossier_flow_rollup), batch[i:i + PAGE])
    return seen
