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

import json
import logging
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Connection, insert, select, text, update
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
    could not be replayed."""
    skipped = 0
    touched: dict[str, dict[str, Any]] = {}  # code → {"row": state, "before": flows or None}
    ratings = []
    ticket_events: list[tuple[str, dict[str, Any]]] = []
    calendars: list = []

    def calendar():
        if not calendars:
            calendars.append(_profile(conn, site).calendar)
        return calendars[0]

    ensure_site(conn, site)
    for e in events:
        body = json.loads(e["body"])
        kind = e["kind"]
        if kind == "site":
            conn.execute(update(sites).where(sites.c.id == site).values(
                name=body.get("name") or site, timezone=body.get("timezone") or "Asia/Ho_Chi_Minh",
                settings=json.dumps(body.get("settings") or {}, ensure_ascii=False)))
            calendars.clear()
        elif kind in DOSSIER_KINDS:
            try:
                applied = _apply(conn, site, touched, kind, e["at"], body, calendar)
            except (KeyError, TypeError, ValueError, DomainError) as err:  # never block the sync on one body
                log.warning("province: site %s seq %s not replayable: %s", site, e["seq"], err)
                applied = False
            if not applied:
                skipped += 1
        elif kind == "rating":
            ratings.append((e["at"], body))
        elif kind in TICKET_KINDS:
            ticket_events.append((e["at"], body))
    for code in sorted(touched):  # one order for every writer
        entry = touched[code]
        try:
            dossier = _dossier(code, entry["row"])
            spans, flows = ledger.ledger(dossier, calendar())
        except (KeyError, TypeError, ValueError, DomainError) as err:
            log.warning("province: site %s dossier %s not replayable: %s", site, code, err)
            skipped += entry["added"]
            continue
        _write_ledger(conn, site, entry, spans, flows)
    for at, body in ratings:
        try:
            _rating(conn, site, at, body)
        except (KeyError, TypeError, ValueError) as err:
            log.warning("province: site %s rating not counted: %s", site, err)
            skipped += 1
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
    row = conn.execute(select(sites).where(sites.c.id == site)).first()
    return build_profile(row.id, row.name, row.address, row.timezone, row.settings)


def _apply(conn: Connection, site: str, touched: dict, kind: str, at: str, body: dict[str, Any], calendar) -> bool:
    code = body["code"]
    entry = touched.get(code)
    if entry is None:
        row = conn.execute(select(province_dossiers).where(
            province_dossiers.c.site == site, province_dossiers.c.code == code).with_for_update()).first()
        if row is not None:
            state = {"id": row.id, "code": code, "procedure_code": row.procedure_code, "legal_days": row.legal_days,
                     "channel": row.channel, "cutoff": row.cutoff, "history": json.loads(row.history),
                     "apologies": json.loads(row.apologies)}
            before = ledger.ledger(_dossier(code, state), calendar())[1]
            entry = touched[code] = {"row": state, "before": before, "added": 0}
        elif kind == "dossier" and body.get("from") is None and "legal_days" in body:
            state = {"id": None, "code": code, "procedure_code": body["procedure"], "legal_days": body["legal_days"],
                     "channel": body["channel"], "cutoff": body.get("cutoff"), "history": [], "apologies": []}
            entry = touched[code] = {"row": state, "before": [], "added": 0}
            _procedure(conn, body)
        else:
            return False  # opened before the journal began: not replayable
    state = entry["row"]
    entry["added"] += 1
    if kind == "dossier":
        facts = {k: body[k] for k in FACTS if isinstance(body.get(k), bool)}
        state["history"].append([body.get("from"), body["to"], body.get("actor") or "", at, *([facts] if facts else [])])
    else:
        state["apologies"].append([at, body["due_date"], body["new_date"], body.get("actor") or ""])
    return True


def _procedure(conn: Connection, body: dict[str, Any]) -> None:
    """The procedure's name and field for the breakdowns (the catalogue is the same everywhere)."""
    if body.get("procedure_name") is None:
        return
    stmt = pg_insert(procedures).values(code=body["procedure"], name_vi=body["procedure_name"],
                                        field_vi=body.get("field"), legal_days=body["legal_days"])
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["code"]))


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


def _write_ledger(conn: Connection, site: str, entry: dict[str, Any], spans, flows) -> None:
    state = entry["row"]
    values = {"history": json.dumps(state["history"]), "apologies": json.dumps(state["apologies"])}
    if state["id"] is None:
        state["id"] = conn.execute(insert(province_dossiers).values(
            site=site, code=state["code"], procedure_code=state["procedure_code"], legal_days=state["legal_days"],
            channel=state["channel"], cutoff=state["cutoff"], **values).returning(province_dossiers.c.id)).scalar_one()
    else:
        conn.execute(update(province_dossiers).where(province_dossiers.c.id == state["id"]).values(**values))
    channel, procedure = state["channel"], state["procedure_code"]
    # dossier_spans.dossier_id at the province is province_dossiers.id (negated: never a site's id)
    ledger_store.replace_spans(conn, -state["id"], site, channel, procedure, spans)
    ledger_store.add_flows(conn, site, channel, procedure, ledger.new_flows(entry["before"] or [], flows))


def _rating(conn: Connection, site: str, at: str, body: dict[str, Any]) -> None:
    """A rating as the site's reports count it; ``ticket_id`` is the row's own id negated (the
    site's ticket ids repeat across sites)."""
    rid = conn.execute(text("SELECT nextval(pg_get_serial_sequence('ticket_ratings', 'id'))")).scalar_one()
    conn.execute(insert(ticket_ratings).values(
        id=rid, ticket_id=-rid, site=site, day=date.fromisoformat(body["day"]), rating=body["rating"],
        official=body.get("official"), service=body.get("service"), rated_at=datetime.fromisoformat(at),
        actor=body.get("actor")))

