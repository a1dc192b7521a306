"""At the province: replay each site's journalled events into the tables the site's reports read.

Runs inside the ingest transaction (``ProvinceStore.ingest``), on the events that batch added, so
the province's figures always cover exactly the events it holds, and a batch sent again adds
nothing (its events were not added the second time).

There is no second implementation of the report here. A dossier's journalled history (statuses,
who, when, with the procedure's legal days and cut-off) is rebuilt into the domain's ``Dossier``
and passed through the very ledger code a site runs on every dossier write
(``server.domain.ledger`` → ``ledger_store.replace_spans`` / ``add_flows``), on the site's own
calendar (its ``site`` events: name, time zone, settings). The period report
(``server.storage.period_report``) then runs unchanged with ``site=X``. Ratings go into
``ticket_ratings`` for Decision 766's 5.4 and the ticket report; tickets and calls rebuild the
province's ``tickets`` rows (``ticket_projector``), so the site's ``ticket_report`` runs unchanged.

A dossier whose opening event the province does not hold (opened before the site's journal
began, revision 0010) cannot be replayed: its events are counted in ``province_sites.unprojected``
and left out of the figures, never guessed.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from server.domain import dossiers as d
from server.domain import ledger
from server.domain.errors import DomainError
from server.storage import ledger_store
from server.storage.site_settings import build_profile
from server.storage.tables import procedures, province_dossiers, province_sites, sites, ticket_ratings

from .ticket_projector import TICKET_KINDS, project_tickets

DOSSIER_KINDS = ("dossier", "apology")
log = logging.getLogger("server.province")


FACTS = ("paid_online", "components_digitised", "result_digitised")
"""Decision 766 facts a dossier event may carry (3.6, 4.1, 4.2): replayed into the same ledger."""


def project(conn: Connection, site: str, events: list[dict[str, Any]]) -> int:
    """Apply ``events`` (seq order; ``body`` as canonical JSON text) of one site; returns how many
    could not be replayed.

    A batch costs a handful of statements whatever its size: the touched ``province_dossiers`` rows
    are read (and locked) in one SELECT, and written back, with their spans, flows and the
    procedures they name, one statement per table for the whole batch."""
    skipped = 0
    touched: dict[str, dict[str, Any]] = {}  # code → {"row": state, "held_as": (changes, apologies, calendar)}
    ratings = []
    ticket_events: list[tuple[str, dict[str, Any]]] = []
    procedures_named: dict[str, dict[str, Any]] = {}  # code → the first opening event's row
    calendars: list = []

    def calendar():
        if not calendars:
            calendars.append(_profile(conn, site).calendar)
        return calendars[0]

    ensure_site(conn, site)
    parsed = [(e, json.loads(e["body"])) for e in events]
    held = _held(conn, site, {body.get("code") for e, body in parsed
                              if e["kind"] in DOSSIER_KINDS and isinstance(body, dict)})
    for e, body in parsed:
        kind = e["kind"]
        if kind == "site":
            conn.execute(update(sites).where(sites.c.id == site).values(
                name=body.get("name") or site, timezone=body.get("timezone") or "Asia/Ho_Chi_Minh",
                settings=json.dumps(body.get("settings") or {}, ensure_ascii=False)))
            calendars.clear()
        elif kind in DOSSIER_KINDS:
            try:
                applied = _apply(held, touched, procedures_named, kind, e["at"], body, calendar)
            except (KeyError, TypeError, ValueError, DomainError) as err:  # never block the sync on one body
                log.warning("province: site %s seq %s not replayable: %s", site, e["seq"], err)
                applied = False
            if not applied:
                skipped += 1
        elif kind == "rating":
            ratings.append((e["at"], body))
        elif kind in TICKET_KINDS:
            ticket_events.append((e["at"], body))
    _write_procedures(conn, procedures_named)
    ledgers = []
    for code in sorted(touched):  # one order for every writer
        entry = touched[code]
        try:
            spans, added = _ledger(_dossier(code, entry["row"]), entry, calendar())
        except (KeyError, TypeError, ValueError, DomainError) as err:
            log.warning("province: site %s dossier %s not replayable: %s", site, code, err)
            skipped += entry["added"]
            continue
        ledgers.append((entry, spans, added))
    _write_ledgers(conn, site, ledgers)
    skipped += _write_ratings(conn, site, ratings)
    skipped += project_tickets(conn, site, ticket_events)
    if skipped:
        conn.execute(update(province_sites).where(province_sites.c.site == site)
                     .values(unprojected=province_sites.c.unprojected + skipped))
    return skipped


def ensure_site(conn: Connection, site: str) -> None:
    """The site's row in ``sites`` (its ``site`` event fills it in; until then the province's name
    for it and the national calendar)."""
    if conn.execute(select(sites.c.id).where(sites.c.id == site)).first() is None:
        name = conn.execute(select(province_sites.c.name).where(province_sites.c.site == site)).scalar() or site
        conn.execute(pg_insert(sites).values(id=site, name=name, timezone="Asia/Ho_Chi_Minh", settings="{}")
                     .on_conflict_do_nothing(index_elements=["id"]))


def _profile(conn: Connection, site: str):
    row = conn.execute(select(sites.c.id, sites.c.name, sites.c.address, sites.c.timezone, sites.c.settings)
                       .where(sites.c.id == site)).first()
    return _built_profile(row.id, row.name, row.address, row.timezone, row.settings)


@functools.lru_cache(maxsize=256)
def _built_profile(site_id: str, name: str, address: str | None, tz_name: str, settings: str | None):
    """One profile per content of the site's row, kept across batches: its calendar keeps the
    working days it has looked up (a profile is a pure function of the row, so a changed row is
    a new key)."""
    return build_profile(site_id, name, address, tz_name, settings)


_HELD = (select(province_dossiers)
         .where(province_dossiers.c.site == bindparam("p_site"),
                province_dossiers.c.code.in_(bindparam("p_codes", expanding=True)))
         .order_by(province_dossiers.c.code).with_for_update())


def _held(conn: Connection, site: str, codes: set) -> dict[str, Any]:
    """The rows the province already holds for these dossier codes, locked, in one statement (in
    code order, the order every writer locks them in)."""
    codes = sorted(c for c in codes if isinstance(c, str))
    if not codes:
        return {}
    return {row.code: row for row in conn.execute(_HELD, {"p_site": site, "p_codes": codes})}


def _apply(held: dict[str, Any], touched: dict, procedures_named: dict, kind: str, at: str, body: dict[str, Any],
           calendar) -> bool:
    code = body["code"]
    if not isinstance(code, str):
        raise TypeError(f"dossier code {code!r} is not a text")
    entry = touched.get(code)
    if entry is None:
        row = held.get(code)
        if row is not None:
            state = {"id": row.id, "code": code, "procedure_code": row.procedure_code, "legal_days": row.legal_days,
                     "channel": row.channel, "cutoff": row.cutoff, "history": json.loads(row.history),
                     "apologies": json.loads(row.apologies)}
            # what the province held: its flows are subtracted from the new ledger's (see _ledger)
            held_as = (len(state["history"]), len(state["apologies"]), calendar())
            entry = touched[code] = {"row": state, "held_as": held_as, "added": 0}
        elif kind == "dossier" and body.get("from") is None and "legal_days" in body:
            state = {"id": None, "code": code, "procedure_code": body["procedure"], "legal_days": body["legal_days"],
                     "channel": body["channel"], "cutoff": body.get("cutoff"), "history": [], "apologies": []}
            entry = touched[code] = {"row": state, "held_as": None, "added": 0}
            _procedure(procedures_named, body)
        else:
            return False  # opened before the journal began: not replayable
    state = entry["row"]
    entry["added"] += 1
    if kind == "dossier":
        facts = {k: body[k] for k in FACTS if isinstance(body.get(k), bool)}
        state["history"].append([body.get("from"), body["to"], body.get("actor") or "", at,
                                 *([facts] if facts else [])])
    else:
        state["apologies"].append([at, body["due_date"], body["new_date"], body.get("actor") or ""])
    return True


def _procedure(procedures_named: dict[str, dict[str, Any]], body: dict[str, Any]) -> None:
    """The procedure's name and field for the breakdowns (the catalogue is the same everywhere);
    the first opening event of the batch that names it."""
    if body.get("procedure_name") is None:
        return
    procedures_named.setdefault(body["procedure"], dict(
        code=body["procedure"], name_vi=body["procedure_name"], field_vi=body.get("field"),
        legal_days=body["legal_days"]))


_INSERT_PROCEDURES = pg_insert(procedures).on_conflict_do_nothing(index_elements=["code"])


def _write_procedures(conn: Connection, named: dict[str, dict[str, Any]]) -> None:
    if named:
        conn.execute(_INSERT_PROCEDURES, [named[code] for code in sorted(named)])


def _ledger(dossier: d.Dossier, entry: dict[str, Any], calendar) -> tuple[list, list]:
    """The dossier's spans, and the flows this batch added to what the province held of it (all
    of them for a new dossier). One replay when the calendar did not change since the dossier was
    first touched in the batch (a ``site`` event may change it); else the held part is replayed
    on the calendar of that moment, as it would have been then."""
    if entry["held_as"] is None:
        spans, flows = ledger.ledger(dossier, calendar)
        return spans, ledger.new_flows([], flows)
    changes, apologies, held_calendar = entry["held_as"]
    if held_calendar is calendar:
        spans, _, added = ledger.ledger_since(dossier, calendar, changes, apologies)
        return spans, added
    before = ledger.ledger(dataclasses.replace(dossier, history=dossier.history[:changes],
                                               apologies=dossier.apologies[:apologies]), held_calendar)[1]
    spans, flows = ledger.ledger(dossier, calendar)
    return spans, ledger.new_flows(before, flows)


def _dossier(code: str, state: dict[str, Any]) -> d.Dossier:
    """The domain object the ledger replays (only the history and its header matter to it)."""
    history = tuple(d.StatusChange(d.DossierStatus(h[0]) if h[0] else None, d.DossierStatus(h[1]), h[2],
                                   datetime.fromisoformat(h[3]), **(h[4] if len(h) > 4 else {}))
                    for h in state["history"])
    slips = tuple(d.ApologySlip(code, date.fromisoformat(due), date.fromisoformat(new), datetime.fromisoformat(at),
                                by, "—") for at, due, new, by in state["apologies"])
    return d.Dossier(code=code, procedure_code=state["procedure_code"], legal_days=state["legal_days"],
                     channel=d.Channel(state["channel"]), status=history[-1].to_status, history=history,
                     apologies=slips, cutoff=time.fromisoformat(state["cutoff"]) if state["cutoff"] else None)


_INSERT_DOSSIERS = insert(province_dossiers).returning(province_dossiers.c.id, province_dossiers.c.code)
_UPDATE_DOSSIER = (update(province_dossiers).where(province_dossiers.c.id == bindparam("p_id"))
                   .values(history=bindparam("p_history"), apologies=bindparam("p_apologies")))


def _write_ledgers(conn: Connection, site: str, ledgers: list) -> None:
    """The batch's dossiers (new ones inserted, held ones updated), their spans replaced and their
    new flows counted: one statement per kind of write for the whole batch."""
    new = [entry["row"] for entry, _, _ in ledgers if entry["row"]["id"] is None]
    held = [entry["row"] for entry, _, _ in ledgers if entry["row"]["id"] is not None]
    if new:
        ids = dict((code, id_) for id_, code in conn.execute(_INSERT_DOSSIERS, [dict(
            site=site, code=s["code"], procedure_code=s["procedure_code"], legal_days=s["legal_days"],
            channel=s["channel"], cutoff=s["cutoff"], history=json.dumps(s["history"]),
            apologies=json.dumps(s["apologies"])) for s in new]))
        for s in new:
            s["id"] = ids[s["code"]]
    if held:
        conn.execute(_UPDATE_DOSSIER, [{"p_id": s["id"], "p_history": json.dumps(s["history"]),
                                        "p_apologies": json.dumps(s["apologies"])} for s in held])
    # dossier_spans.dossier_id at the province is province_dossiers.id (negated: never a site's id)
    ledger_store.replace_spans_many(conn, site, [
        (-entry["row"]["id"], entry["row"]["channel"], entry["row"]["procedure_code"], spans)
        for entry, spans, _ in ledgers])
    ledger_store.add_flows_many(conn, site, [
        (entry["row"]["channel"], entry["row"]["procedure_code"], added) for entry, _, added in ledgers])


_NEXT_RATING_IDS = text("SELECT nextval(pg_get_serial_sequence('ticket_ratings', 'id')) FROM generate_series(1, :n)")
_INSERT_RATINGS = insert(ticket_ratings)


def _write_ratings(conn: Connection, site: str, ratings: list[tuple[str, dict[str, Any]]]) -> int:
    """Ratings as the site's reports count them; ``ticket_id`` is the row's own id negated (the
    site's ticket ids repeat across sites). Returns how many could not be counted."""
    rows, skipped = [], 0
    for at, body in ratings:
        try:
            rows.append(dict(site=site, day=date.fromisoformat(body["day"]), rating=body["rating"],
                             official=body.get("official"), service=body.get("service"),
                             rated_at=datetime.fromisoformat(at), actor=body.get("actor")))
        except (KeyError, TypeError, ValueError) as err:
            log.warning("province: site %s rating not counted: %s", site, err)
            skipped += 1
    if rows:
        ids = sorted(conn.execute(_NEXT_RATING_IDS, {"n": len(rows)}).scalars())
        conn.execute(_INSERT_RATINGS, [dict(row, id=rid, ticket_id=-rid) for row, rid in zip(rows, ids)])
    return skipped
