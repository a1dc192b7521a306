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

from sqlalchemy import Connection, bindparam, delete, func, insert, literal_column, select, update

from .outbox import next_site_sequence
from .tables import site_sequences, sites, sync_journal, sync_state

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


TICKET_TIMES = ("issued_at", "called_at", "started_at", "finished_at", "checked_in_at")
"""A ticket's moments a ``ticket``/``call`` body carries (ISO-8601 UTC, to the microsecond; null
when not yet), with ``est_wait_s``, ``remote`` and ``at_counter`` (the counter holding it after the
change; ``counter`` is the one that made it) since the province's ticket report."""


def ticket_state(ticket: Any) -> dict[str, Any]:
    """What the ticket report reads of a ticket, as it stands after the change being journalled."""
    state: dict[str, Any] = {k: _iso(getattr(ticket, k)) for k in TICKET_TIMES}
    state["est_wait_s"] = ticket.est_wait_s
    state["remote"] = bool(ticket.remote)
    state["at_counter"] = ticket.counter
    return state


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).isoformat()


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


def record_profile(conn: Connection, site: str, now: datetime) -> int | None:
    """Journal the site's profile (kind ``site``: name, time zone, settings — its calendar of days
    off, cut-offs, Decision 766 weights) when it differs from the last one journalled, so the
    province replays the site's dossiers on the site's own calendar. Returns the seq, or None
    (unchanged, or no such site). Called by ``site load`` and when the up-sync starts."""
    row = conn.execute(select(sites.c.name, sites.c.timezone, sites.c.settings).where(sites.c.id == site)).first()
    if row is None:
        return None
    body = {"name": row.name, "timezone": row.timezone, "settings": json.loads(row.settings or "{}")}
    last = conn.execute(select(sync_journal.c.body).where(sync_journal.c.site == site, sync_journal.c.kind == "site")
                        .order_by(sync_journal.c.seq.desc()).limit(1)).scalar()
    if last == canonical(body):
        return None
    return record(conn, site, "site", body, now)


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


def prune(conn: Connection, site: str, before: datetime) -> int:
    """Delete events the province has acknowledged and that are older than ``before``. → rows deleted.

    The acknowledged event itself is always kept: the next push starts at it (the overlap that lets
    the province see a fork), and a site whose province never answered keeps its whole journal.
    """
    acked = conn.execute(select(sync_state.c.acked_seq).where(sync_state.c.site == site)).scalar() or 0
    if acked <= 1:
        return 0
    return conn.execute(delete(sync_journal).where(
        sync_journal.c.site == site, sync_journal.c.seq < acked, sync_journal.c.at < stamp(before))).rowcount


REBASE = "rebase"
"""The kind of the marker event a re-based site writes right after the province's head."""
_SHIFT = 1_000_000_000
"""Renumbering goes through seq + _SHIFT so that no two rows ever share a (site, seq) on the way."""


@dataclass(frozen=True)
class Rebased:
    fork_seq: int  # the last event the site and the province share
    province_seq: int  # what the province held
    moved: int  # the site's events after the fork, now after the marker
    first_seq: int  # the marker's seq (province_seq + 1)
    last_seq: int


def rebase_onto(conn: Connection, site: str, fork_seq: int, province_seq: int, province_hash: str,
                now: datetime, batch: int = 500) -> Rebased:
    """Re-chain the site's events after ``fork_seq`` onto the province's head, in one transaction.

    After a restore from an older backup the site's events after the fork reuse numbers the
    province already holds for events that now exist only there. This writes a marker event at
    ``province_seq + 1`` (``prev_hash`` = the province's head hash; body: what was shared, what
    exists only at the province, how many events moved) and renumbers the site's later events after
    it, recomputing their hashes; event ids, kinds, times and bodies are kept. Nothing the province
    holds is touched: the events only it has stay the record of that period.
    """
    # The journal's sequence row first: on PostgreSQL this waits for, then holds off, every writer
    # that journals (``record`` bumps the same row); on SQLite the write transaction already does.
    last = next_site_sequence(conn, site, SEQUENCE) - 1
    if fork_seq > min(last, province_seq):
        raise ValueError(f"fork at {fork_seq} is past the site ({last}) or the province ({province_seq})")
    moved = last - fork_seq
    conn.execute(update(sync_journal).where(sync_journal.c.site == site, sync_journal.c.seq > fork_seq)
                 .values(seq=sync_journal.c.seq + _SHIFT))
    marker = province_seq + 1
    body = canonical({"fork_seq": fork_seq, "province_seq": province_seq, "only_at_province": province_seq - fork_seq,
                      "moved": moved})
    event_id, at = str(uuid.uuid4()), stamp(now)
    prev = event_hash(site, marker, event_id, REBASE, at, province_hash, body)
    conn.execute(_INSERT, {"site": site, "seq": marker, "event_id": event_id, "kind": REBASE, "at": at, "body": body,
                           "prev_hash": province_hash, "hash": prev})
    seq, old = marker, fork_seq + _SHIFT
    while True:
        rows = conn.execute(select(sync_journal).where(sync_journal.c.site == site, sync_journal.c.seq > old)
                            .order_by(sync_journal.c.seq).limit(batch)).all()
        if not rows:
            break
        for r in rows:
            seq += 1
            new_hash = event_hash(site, seq, r.event_id, r.kind, r.at, prev, r.body)
            conn.execute(update(sync_journal).where(sync_journal.c.site == site, sync_journal.c.seq == r.seq)
                         .values(seq=seq, prev_hash=prev, hash=new_hash))
            prev, old = new_hash, r.seq
    conn.execute(update(site_sequences).where(site_sequences.c.site == site, site_sequences.c.name == SEQUENCE)
                 .values(value=seq))
    save_state(conn, site, acked_seq=province_seq, acked_hash=province_hash, error=None)
    return Rebased(fork_seq, province_seq, moved, marker, seq)
