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
    .values(value=site_sequences.c.value + 1)
    .returning(site_sequences.c.value)
)
_INSERT_EVENT = insert(outbox)


def next_site_sequence(conn: Connection, site: str, name: str) -> int:
    """Increment and return a per-site counter; a row lock, never ``max()+1``."""
    params = {"p_site": site, "p_name": name}
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
    seq = next_site_sequence(conn, site, "outbox")
    moment = now.astimezone(timezone.utc)
    payload = {"v": 1, "at": moment.isoformat(timespec="milliseconds")}
    if with_seq:
        payload["seq"] = seq
    payload.update(body)
    conn.execute(_INSERT_EVENT, {
        "site": site, "seq": seq, "event_id": str(uuid.uuid4()), "kind": kind, "topic": topic,
        "payload": json.dumps(payload, ensure_ascii=False), "retain": retain, "created_at": now,
        "published_at": None,
    })
    return seq


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
