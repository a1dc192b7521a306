"""The province's side: registered sites, their keys, and idempotent ingest of their journals.

Ingest runs in one transaction per batch that first locks the site's row (``FOR UPDATE``), so
replicas receiving batches of one site at once take turns, and a replica killed mid-batch leaves
nothing behind (the transaction never committed; the site sends the batch again). Each batch is
checked against the chain the province already holds:

- an event at or below the held head must be the very event held (same hash), else the site's
  history forked (a restore from an old backup that went on writing): the site is flagged broken;
- new events must continue at ``head + 1`` without a hole (a gap is refused and named, the site
  keeps its good chain), each carrying the hash of the one before and a hash that matches its
  content (an edited or reordered event flags the site broken);
- a site that declares a head below the held one, in a request newer than the last accepted
  (its database went back), is flagged broken.

A broken site's batches are refused until an operator clears it; nothing of it is merged wrongly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from server.domain.errors import DomainError, NotFound
from server.storage.db import Database
from server.storage.journal import GENESIS, event_hash
from server.storage.tables import province_events, province_sites

from . import signing

log = logging.getLogger("server.province")
MAX_BATCH = 2000
_INSERT_EVENTS = pg_insert(province_events).on_conflict_do_nothing(index_elements=["site", "seq"])
"""Built once, executed with a list of rows (SQLAlchemy batches them into multi-row VALUES)."""


class SyncRefused(DomainError):
    """The province will not take this batch; the code says why (the site is named)."""
    kind = "conflict"


@dataclass
class Head:
    seq: int
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}


def _now() -> datetime:
    return datetime.now(timezone.utc)


class ProvinceStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- sites and keys (motcua province …) ----------------------------------------------
    def register(self, site: str, name: str, now: datetime | None = None) -> str:
        """Register a site; returns its new key (shown once, to be set as MOTCUA_PROVINCE_KEY there)."""
        key = signing.new_key()
        with self.db.write() as conn:
            if conn.execute(select(province_sites.c.site).where(province_sites.c.site == site)).first():
                raise DomainError(f"site {site} is already registered (rotate its key instead)", code="site_exists")
            conn.execute(province_sites.insert().values(
                site=site, name=name, key=key, head_seq=0, head_hash=GENESIS, last_batch_ts=0,
                registered_at=now or _now()))
        return key

    def rotate_key(self, site: str, grace: timedelta = timedelta(hours=24), now: datetime | None = None) -> str:
        """A new key; the old one still signs for ``grace`` so the site can be reconfigured."""
        key, now = signing.new_key(), now or _now()
        with self.db.write() as conn:
            row = self._site(conn, site, lock=True)
            conn.execute(update(province_sites).where(province_sites.c.site == site).values(
                key=key, previous_key=row.key if grace.total_seconds() > 0 else None, previous_until=now + grace))
        return key

    def clear(self, site: str) -> None:
        """Lift a broken-chain or gap flag after the operator has dealt with the site."""
        with self.db.write() as conn:
            self._site(conn, site, lock=True)
            conn.execute(update(province_sites).where(province_sites.c.site == site).values(
                broken=None, broken_at=None, gap=None, gap_at=None))

    def sites(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(select(province_sites).order_by(province_sites.c.site)).all()
        return [{"site": r.site, "name": r.name, "head_seq": r.head_seq, "synced_at": r.synced_at,
                 "gap": r.gap, "broken": r.broken} for r in rows]

    @staticmethod
    def _site(conn, site: str, lock: bool = False):
        query = select(province_sites).where(province_sites.c.site == site)
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise NotFound(f"site {site} is not registered at this province", code="unknown_site")
        return row

    # ---- requests -------------------------------------------------------------------------
    def keys(self, site: str, now: datetime | None = None) -> list[str]:
        """The keys that may sign for ``site`` now (none: unknown site)."""
        now = now or _now()
        with self.db.read() as conn:
            row = conn.execute(select(province_sites.c.key, province_sites.c.previous_key,
                                      province_sites.c.previous_until).where(province_sites.c.site == site)).first()
        if row is None:
            return []
        keys = [row.key]
        if row.previous_key and row.previous_until and row.previous_until > now:
            keys.append(row.previous_key)
        return keys

    def head(self, site: str) -> dict[str, Any]:
        with self.db.read() as conn:
            row = self._site(conn, site)
        return {"site": site, **Head(row.head_seq, row.head_hash).as_dict(), "broken": row.broken, "gap": row.gap}

    def hash_at(self, site: str, seq: int) -> dict[str, Any]:
        """The hash of the site's event ``seq`` as held here (``None`` when not held)."""
        with self.db.read() as conn:
            self._site(conn, site)
            found = conn.execute(select(province_events.c.hash).where(
                province_events.c.site == site, province_events.c.seq == seq)).scalar()
        return {"site": site, "seq": seq, "hash": GENESIS if seq == 0 else found}

    def ingest(self, site: str, ts: int, site_head: dict[str, Any], events: list[dict[str, Any]],
               now: datetime | None = None) -> dict[str, Any]:
        """Check and insert one batch; returns the held head. Raises :class:`SyncRefused` (after
        committing any flag) for a gap, a fork, an edited event or a site that went back."""
        now = now or _now()
        flag: dict[str, Any] = {}
        refusal: SyncRefused | None = None
        with self.db.write() as conn:
            row = self._site(conn, site, lock=True)
            if row.broken:
                raise SyncRefused(f"site {site}: chain broken ({row.broken}); refused until cleared at the province",
                                  code="chain_broken")
            try:
                head, added = self._check(conn, row, ts, site_head, events)
            except SyncRefused as err:
                refusal = err
                flag = ({"broken": str(err)[:500], "broken_at": now} if err.code != "sequence_gap"
                        else {"gap": str(err)[:500], "gap_at": now})
            else:
                if added:
                    conn.execute(_INSERT_EVENTS, [{**e, "received_at": now} for e in added])
                values = {"head_seq": head.seq, "head_hash": head.hash, "last_batch_ts": max(ts, row.last_batch_ts),
                          "synced_at": now}
                if added:
                    values.update(gap=None, gap_at=None)
                conn.execute(update(province_sites).where(province_sites.c.site == site).values(**values))
            if flag:
                conn.execute(update(province_sites).where(province_sites.c.site == site).values(**flag))
        if refusal is not None:
            log.warning("province: %s", refusal)
            raise refusal
        return {"site": site, **head.as_dict(), "added": len(added)}

    def _check(self, conn, row, ts: int, site_head: dict[str, Any], events: list[dict[str, Any]]):
        site, held = row.site, Head(row.head_seq, row.head_hash)
        declared = int(site_head.get("seq", 0))
        if declared < held.seq and ts > row.last_batch_ts:
            raise SyncRefused(
                f"site {site} went back: it now holds events up to seq {declared}, the province holds {held.seq} "
                "(database restored from an older backup?)", code="site_rewound")
        overlap = [e for e in events if e["seq"] <= held.seq]
        if overlap:
            stored = dict(conn.execute(select(province_events.c.seq, province_events.c.hash).where(
                province_events.c.site == site, province_events.c.seq.in_([e["seq"] for e in overlap]))).all())
            for e in overlap:
                if stored.get(e["seq"]) != e["hash"]:
                    raise SyncRefused(f"site {site} forked at seq {e['seq']}: the event sent differs from the one "
                                      "held (database restored from an older backup, or edited)", code="chain_forked")
        added, head = [], Head(held.seq, held.hash)
        for e in (e for e in events if e["seq"] > held.seq):
            if e["seq"] != head.seq + 1:
                raise SyncRefused(f"site {site} skipped seq {head.seq + 1}–{e['seq'] - 1}: the province holds up to "
                                  f"{held.seq} and was sent {e['seq']} next", code="sequence_gap",
                                  details={"site": site, "missing_from": head.seq + 1, "missing_to": e["seq"] - 1})
            if e["prev_hash"] != head.hash:
                raise SyncRefused(f"site {site}: event {e['seq']} does not follow event {head.seq} (its prev_hash "
                                  "differs: reordered, edited or forked)", code="chain_forked")
            if event_hash(site, e["seq"], e["event_id"], e["kind"], e["at"], e["prev_hash"], e["body"]) != e["hash"]:
                raise SyncRefused(f"site {site}: event {e['seq']} does not match its hash (edited after the fact)",
                                  code="event_edited")
            added.append({k: e[k] for k in ("seq", "event_id", "kind", "at", "body", "prev_hash", "hash")} | {"site": site})
            head = Head(e["seq"], e["hash"])
        return head, added
