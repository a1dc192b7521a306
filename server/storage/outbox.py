"""The outbox: domain events written in the same transaction as the state change they report.

Each row has a per-site gapless ``seq`` (from ``site_sequences``, one ``UPDATE … RETURNING``
per event, inside the caller's transaction) and a unique ``event_id``: the publisher sends rows in
``seq`` order and the upward sync can later insert them idempotently keyed by (site, seq).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .tables import outbox, site_sequences


# Built once: the hot path only binds parameters (statement construction was most of its cost).
_BUMP = (
    update(site_sequences)
    .where(site_sequences.c.site == bindparam("p_site"), site_sequences.c.name == bindparam("p_name"))
    .values(value=site_sequences.c.value + bindparam("p_count"))
    .returning(site_sequences.c.value)
)
_INSERT_EVENT = insert(outbox)


def next_site_sequence(conn: Connection, site: str, name: str, count: int = 1) -> int:
    """Increment a per-site counter by ``count`` and return its new value (the last of the ``count``
    values taken); a row lock, never ``max()+1``."""
    params = {"p_site": site, "p_name": name, "p_count": count}
    value = conn.execute(_BUMP, params).scalar()
    if value is None:
        # The first of its name (a new day's dossier counter): two transactions may get here at
        # once on PostgreSQL; the loser's insert waits for the winner and does nothing, then its
        # UPDATE … RETURNING takes the row lock after the winner and gets the next value.
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(dialect.insert(site_sequences).values(site=site, name=name, value=0)
                     .on_conflict_do_nothing(index_elements=["site", "name"]))
        value = conn.execute(_BUMP, params).scalar_one()
    return value


@dataclass(frozen=True)
class OutboxEvent:
    id: int
    site: str
    seq: int
    event_id: str
    kind: str
    topic: str
    payload: str
    retain: bool


@dataclass(frozen=True)
class NewEvent:
    """One event to append (:func:`append_many`)."""
    kind: str
    topic: str
    body: dict[str, Any]
    retain: bool
    with_seq: bool = False


def append(
    conn: Connection,
    site: str,
    kind: str,
    topic: str,
    body: dict[str, Any],
    *,
    retain: bool,
    now: datetime,
    with_seq: bool = False,
) -> int:
    """Add one event; returns its seq. ``with_seq`` puts the seq into the payload (the calls stream)."""
    return append_many(conn, site, [NewEvent(kind, topic, body, retain, with_seq)], now)[0]


def append_many(conn: Connection, site: str, events: list[NewEvent], now: datetime) -> list[int]:
    """Add events in this order with consecutive seqs; returns them. Two statements whatever
    their number (a call writes three or four: the call, the counter, one or two queues)."""
    if not events:
        return []
    last = next_site_sequence(conn, site, "outbox", len(events))
    at = now.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    rows, seqs = [], []
    for seq, event in enumerate(events, start=last - len(events) + 1):
        payload = {"v": 1, "at": at}
        if event.with_seq:
            payload["seq"] = seq
        payload.update(event.body)
        rows.append({
            "site": site, "seq": seq, "event_id": str(uuid.uuid4()), "kind": event.kind, "topic": event.topic,
            "payload": json.dumps(payload, ensure_ascii=False), "retain": event.retain, "created_at": now,
            "published_at": None,
        })
        seqs.append(seq)
    conn.execute(_INSERT_EVENT, rows)
    return seqs


def pending(conn: Connection, limit: int = 200, after_id: int = 0) -> list[OutboxEvent]:
    """Unpublished events in commit order; ``after_id`` skips those already sent but not yet marked."""
    rows = conn.execute(
        select(outbox).where(outbox.c.published_at.is_(None), outbox.c.id > after_id)
        .order_by(outbox.c.id).limit(limit)
    ).all()
    return [
        OutboxEvent(r.id, r.site, r.seq, r.event_id, r.kind, r.topic, r.payload, r.retain) for r in rows
    ]


def mark_published(conn: Connection, ids: list[int], now: datetime) -> None:
    if ids:
        conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=now))
