"""At the province: rebuild each centre's tickets from its journalled ticket and call events, in the
province's own ``tickets`` table, so the site's ``ticket_report`` runs on them unchanged.

One row per (site, the site's ticket id): its ``idempotency_key`` is ``journal:<id>``, unique per
site like every ticket's key, so a batch's tickets are read in one statement of index reads and a ticket with forty
events across ten batches is still one row. Events come in ``seq`` order (the ingest takes each
event once), and since this version every body carries the ticket's times, estimated wait, remote
flag and the counter holding it *after* the change (``journal.ticket_state``): the row is the
state of the last event applied. The official is the one who last called it (as at the site, where
a call writes the caller's name on the ticket).

Events journalled by an older motcua lack that state. They are still counted: status, service,
counter and the moment of the issue, first call, start, finish and check-in are taken from the
event itself; the estimate's error and the remote split cannot be (null / not remote). An event
for a ticket whose issue the province never saw, with no state of its own, is not replayable:
counted in ``province_sites.unprojected`` and left out. So is an issue for a ticket id the
province already holds (a centre restored from an old backup reuses ids and numbers; the first
ticket stays the record).
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from server.storage.journal import TICKET_TIMES
from server.storage.tables import tickets

TICKET_KINDS = ("ticket", "call")
log = logging.getLogger("server.province")
_LABEL = re.compile(r"(?P<prefix>\D{0,2})(?P<number>[0-9]+)")
_COLUMNS = ("service", "status", "priority", "counter", "official", "est_wait_s", "remote") + TICKET_TIMES
_OLD_STYLE_TIMES = {"issue": "issued_at", "start": "started_at", "finish": "finished_at", "check_in": "checked_in_at"}


def key_of(ticket_id: int) -> str:
    """The province row's ``idempotency_key`` for the site's ticket ``ticket_id``."""
    return f"journal:{ticket_id}"


def project_tickets(conn: Connection, site: str, events: list[tuple[str, dict[str, Any]]]) -> int:
    """Apply ``(at, body)`` of one site's ticket and call events, in seq order; returns how many
    could not be replayed."""
    skipped, first_error = 0, None
    touched: dict[int, dict[str, Any]] = {}
    held = _held(conn, site, events)
    for at, body in events:
        try:
            applied = _apply(held, touched, at, body)
        except (KeyError, TypeError, ValueError, AttributeError) as err:  # never block the sync on one body
            first_error = first_error or f"{type(err).__name__}: {err}"
            applied = False
        if not applied:
            skipped += 1
    if skipped:  # one line a batch, not one an event
        log.warning("province: site %s: %d ticket events not replayable (%s)", site, skipped,
                    first_error or "no issue held for the ticket, or its id reused")
    new = [(ticket_id, dict(site=site, idempotency_key=key_of(ticket_id), token=secrets.token_urlsafe(24),
                            source="journal", **entry["head"], **entry["values"]))
           for ticket_id, entry in sorted(touched.items()) if entry["id"] is None]  # one order for every writer
    inserted = set()
    for rows in _alike(row for _, row in new):  # one statement for every row with the same columns
        inserted.update(conn.execute(_INSERT, rows).scalars())
    for ticket_id, row in new:
        if row["idempotency_key"] not in inserted:  # its day and number are another ticket's (ids reused)
            entry = touched[ticket_id]
            log.warning("province: site %s ticket %s clashes with one held", site, entry["head"])
            skipped += entry["added"]
    held_rows = [{"p_id": entry["id"], **entry["values"]} for _, entry in sorted(touched.items())
                 if entry["id"] is not None]
    for rows in _alike(held_rows):
        conn.execute(_update(tuple(k for k in rows[0] if k != "p_id")), rows)
    return skipped


_INSERT = pg_insert(tickets).on_conflict_do_nothing().returning(tickets.c.idempotency_key)


def _alike(rows) -> list[list[dict[str, Any]]]:
    """The rows grouped by their set of columns (in their order), for one executemany each."""
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.values())


@functools.lru_cache(maxsize=32)
def _update(columns: tuple[str, ...]):
    return update(tickets).where(tickets.c.id == bindparam("p_id")).values(
        {c: bindparam(c) for c in columns})


_HELD = (select(tickets.c.id, tickets.c.idempotency_key, *(tickets.c[c] for c in _COLUMNS))
         .where(tickets.c.site == bindparam("p_site"),
                tickets.c.idempotency_key.in_(bindparam("p_keys", expanding=True))))


def _held(conn: Connection, site: str, events: list[tuple[str, dict[str, Any]]]) -> dict[int, Any]:
    """The rows the province already holds for the batch's tickets, in one statement."""
    ids = set()
    for _, body in events:
        try:
            ids.add(int(body["ticket"]))
        except (KeyError, TypeError, ValueError):
            pass  # _apply says so
    if not ids:
        return {}
    rows = conn.execute(_HELD, {"p_site": site, "p_keys": [key_of(i) for i in sorted(ids)]})
    return {int(r.idempotency_key.split(":", 1)[1]): r for r in rows}


def _apply(held: dict[int, Any], touched: dict, at: str, body: dict[str, Any]) -> bool:
    ticket_id, action = int(body["ticket"]), body["action"]
    moment = datetime.fromisoformat(at)
    stated = "issued_at" in body  # journalled by this version: the ticket's state rides along
    changes: dict[str, Any] = {"status": str(body["status"]), "service": str(body["service"]),
                               "priority": body.get("priority")}
    if stated:
        for k in TICKET_TIMES:
            changes[k] = datetime.fromisoformat(body[k]) if body[k] else None
        changes.update(est_wait_s=body.get("est_wait_s"), remote=bool(body.get("remote")),
                       counter=body.get("at_counter"))
    entry = touched.get(ticket_id)
    if entry is None:
        row = held.get(ticket_id)
        if row is not None:
            entry = {"id": row.id, "values": {c: getattr(row, c) for c in _COLUMNS}, "added": 0}
        elif action == "issue" or stated:
            match = _LABEL.fullmatch(body["label"])
            if match is None:
                raise ValueError(f"ticket label {body['label']!r}")
            head = {"prefix": match["prefix"], "number": int(match["number"]), "day": date.fromisoformat(body["day"])}
            entry = {"id": None, "head": head, "values": {"counter": None, "official": None, "remote": False,
                                                          "est_wait_s": None, "issued_at": moment}, "added": 0}
        else:
            return False  # issued before the journal began, journalled without its state: not replayable
        touched[ticket_id] = entry
    elif action == "issue":
        return False
    if action == "issue" and entry["id"] is not None:
        return False  # the province already holds a ticket with this id: a restored centre reused it
    values = entry["values"]
    if not stated:  # an older motcua: what the event itself dates
        if action in _OLD_STYLE_TIMES:
            if action == "check_in" and values.get("status") == "set_aside":
                values["issued_at"] = moment  # back in line (server.domain.queue.check_in)
            values[_OLD_STYLE_TIMES[action]] = moment
        if action == "call":
            changes["counter"] = body.get("counter")
            if values.get("called_at") is None:
                changes["called_at"] = moment
        elif action in ("resume", "transfer"):
            changes["counter"] = None
    if action == "call" and body.get("actor"):
        changes["official"] = body["actor"]
    values.update(changes)
    entry["added"] += 1
    return True
