"""The site's sync journal: every durable event the province needs, hash-chained per site.

Written in the same transaction as the change it reports (a ticket issued or changing status, a
call, a dossier event, a rating), so the journal holds exactly what was committed. Each row takes
the next gapless per-site ``seq`` (``next_site_sequence``, a row lock) and the hash of the row
before it: ``hash = sha256(site, seq, event_id, kind, at, prev_hash, body)`` over the stored text,
so the province can recompute every hash and prove that nothing was edited, dropped or reordered.

Bodies carry no personal data: ticket and dossier references, statuses, services, counters and
officials' user names; never a CCCD hash, an applicant's name, a phone number or a note.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, literal_column, select, update

from .outbox import next_site_sequence
from .tables import site_sequences, sync_journal, sync_state

GENESIS = "0" * 64
"""The ``prev_hash`` of a site's first event."""
SEQUENCE = "journal"
"""The ``site_sequences`` name the journal draws its seq from."""

_PREV_HASH = select(sync_journal.c.hash).where(
    sync_journal.c.site == bindparam("p_site"), sync_journal.c.seq == bindparam("p_seq"))
_INSERT = insert(sync_journal)
_BUMP_WITH_PREV = (
    update(site_sequences)
    .where(site_sequences.c.site == bindparam("p_site"), site_sequences.c.name == SEQUENCE)
    .values(value=site_sequences.c.value + 1)
    .returning(site_sequences.c.value, select(sync_journal.c.hash).where(
        sync_journal.c.site == bindparam("p_site"),
        # spelled out: SQLAlchemy drops the table name inside SQLite's RETURNING
        sync_journal.c.seq == literal_column("site_sequences.value") - 1,
    ).scalar_subquery())
)
"""The next seq and the hash of the event before it, in one statement (RETURNING sees the new value)."""


@dataclass(frozen=True)
class JournalEvent:
    site: str
    seq: int
    event_id: str
    kind: str
    at: str
    body: str
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def canonical(body: dict[str, Any]) -> str:
    """One text per body: sorted keys, no spaces, UTF-8 kept (hashes are over this text)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(site: str, seq: int, event_id: str, kind: str, at: str, prev_hash: str, body: str) -> str:
    material = "\n".join((site, str(seq), event_id, kind, at, prev_hash, body))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def record(conn: Connection, site: str, kind: str, body: dict[str, Any], now: datetime) -> int:
    """Append one event inside the caller's transaction; returns its seq."""
    bumped = conn.execute(_BUMP_WITH_PREV, {"p_site": site}).first()
    if bumped is None:  # the site's first event: its sequence row does not exist yet
        seq, prev = next_site_sequence(conn, site, SEQUENCE), None
    else:
        seq, prev = bumped
    if seq == 1:
        prev = GENESIS
    elif prev is None:  # raises NoResultFound if the event before is missing, as it always did
        prev = conn.execute(_PREV_HASH, {"p_site": site, "p_seq": seq - 1}).scalar_one()
    event_id, at, text = str(uuid.uuid4()), stamp(now), canonical(body)
    conn.execute(_INSERT, {
        "site": site, "seq": seq, "event_id": event_id, "kind": kind, "at": at, "body": text,
        "prev_hash": prev, "hash": event_hash(site, seq, event_id, kind, at, prev, text),
    })
    return seq


def read(conn: Connection, site: str, from_seq: int, limit: int) -> list[JournalEvent]:
    """Events with ``seq >= from_seq`` in order, at most ``limit`` (bounded memory)."""
    rows = conn.execute(
        select(sync_journal).where(sync_journal.c.site == site, sync_journal.c.seq >= from_seq)
        .order_by(sync_journal.c.seq).limit(limit)).all()
    return [JournalEvent(r.site, r.seq, r.event_id, r.kind, r.at, r.body, r.prev_hash, r.hash) for r in rows]


def head(conn: Connection, site: str) -> tuple[int, str]:
    """The site's last (seq, hash), (0, GENESIS) when empty."""
    row = conn.execute(select(sync_journal.c.seq, sync_journal.c.hash).where(sync_journal.c.site == site)
                       .order_by(sync_journal.c.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def hash_at(conn: Connection, site: str, seq: int) -> str | None:
    if seq == 0:
        return GENESIS
    return conn.execute(_PREV_HASH, {"p_site": site, "p_seq": seq}).scalar()


@dataclass(frozen=True)
class Lag:
    """How far the province is behind this site."""
    pending: int
    since: datetime | None  # the first event not yet acknowledged
    acked_seq: int
    acked_at: datetime | None
    attempt_at: datetime | None
    error: str | None


def lag(conn: Connection, site: str) -> Lag:
    state = conn.execute(select(sync_state).where(sync_state.c.site == site)).first()
    acked = state.acked_seq if state else 0
    last = conn.execute(select(func.max(sync_journal.c.seq)).where(sync_journal.c.site == site)).scalar() or 0
    since = None
    if last > acked:
        at = conn.execute(select(sync_journal.c.at).where(
            sync_journal.c.site == site, sync_journal.c.seq == acked + 1)).scalar()
        since = datetime.fromisoformat(at) if at else None
    return Lag(max(0, last - acked), since, acked, state.acked_at if state else None,
               state.attempt_at if state else None, state.error if state else None)


def save_state(conn: Connection, site: str, **values: Any) -> None:
    """Upsert the site's sync position / last error (one row per site)."""
    if conn.execute(select(sync_state.c.site).where(sync_state.c.site == site)).first() is None:
        conn.execute(insert(sync_state).values(site=site, acked_seq=0))
    conn.execute(sync_state.update().where(sync_state.c.site == site).values(**values))
