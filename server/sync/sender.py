"""The site's up-sync: a thread that pushes the journal to the province in signed batches.

Each round asks where the province stands (its head, fetched once and then taken from each
answer), reads at most one batch from the journal starting *at* that head (the overlap event lets
the province see a fork at once), and posts it. Memory stays one batch whatever the backlog. While
the WAN is down the thread backs off (doubling up to ``max_backoff_s``); after any failure it asks
for the head again, so it resumes from the province's high-water mark, never from a guess. What
the province acknowledged goes to ``sync_state`` for ``motcua doctor`` and the health page.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx

from server.storage import journal
from server.storage.db import Database

from . import signing

log = logging.getLogger("server.sync")

PRUNE_EVERY_S = 3600.0


class SyncError(Exception):
    """A round failed. ``retry`` says whether it is the network (back off, retry) or a refusal."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class UpSync:
    """``start()``/``stop()``; the constructor does nothing."""

    def __init__(self, db: Database, site: str, url: str, key: str, *, batch: int = 500,
                 interval_s: float = 2.0, max_backoff_s: float = 60.0, timeout_s: float = 30.0,
                 keep_days: float = 30.0) -> None:
        self.db, self.site, self.key = db, site, key
        self.url = url.rstrip("/")
        self.batch, self.interval_s, self.max_backoff_s, self.timeout_s = batch, interval_s, max_backoff_s, timeout_s
        self._head: tuple[int, str] | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None
        self._last_error: str | None = None
        self.keep_days = keep_days
        """Acknowledged events older than this are deleted from the site's journal (0: kept for ever)."""
        self._pruned_at = 0.0

    def start(self) -> "UpSync":
        self._client = httpx.Client(timeout=self.timeout_s)
        self._thread = threading.Thread(target=self._run, name="motcua-upsync", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_s + 5)
        if self._client is not None:
            self._client.close()

    # ---- the loop -------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                sent = self.push_once()
            except SyncError as err:
                self._failed(str(err))
                wait = min(backoff, self.max_backoff_s) if err.retry else self.max_backoff_s
                backoff = min(backoff * 2, self.max_backoff_s)
            except Exception as err:  # a bug or the local database: keep the thread, say it once
                log.exception("up-sync round failed")
                self._failed(f"{type(err).__name__}: {err}")
                wait = self.max_backoff_s
            else:
                backoff = 1.0
                if sent >= self.batch:
                    continue  # a backlog: next batch at once
                wait = self.interval_s
            self._wake.wait(wait)
            self._wake.clear()

    def push_once(self) -> int:
        """One round; returns how many new events the province took."""
        if self._head is None:
            self._head = self._fetch_head()
        held_seq, held_hash = self._head
        with self.db.read() as conn:
            local_seq, _ = journal.head(conn, self.site)
            local_hash_at_held = journal.hash_at(conn, self.site, held_seq)
            if local_seq == held_seq and local_hash_at_held == held_hash:
                return 0  # in step
            events = journal.read(conn, self.site, max(1, held_seq), self.batch + (1 if held_seq else 0))
            local_seq, local_hash = journal.head(conn, self.site)
        payload = {"site": self.site, "site_head": {"seq": local_seq, "hash": local_hash},
                   "events": [e.as_dict() for e in events]}
        answer = self._request("POST", "/api/v1/province/ingest", json.dumps(payload, ensure_ascii=False).encode())
        self._head = (answer["seq"], answer["hash"])
        added = int(answer.get("added", 0))
        with self.db.write() as conn:
            journal.save_state(conn, self.site, acked_seq=answer["seq"], acked_hash=answer["hash"],
                               acked_at=datetime.now(timezone.utc), attempt_at=datetime.now(timezone.utc), error=None)
        if self.keep_days > 0 and time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
            self._pruned_at = time.monotonic()
            with self.db.write() as conn:
                gone = journal.prune(conn, self.site, datetime.now(timezone.utc) - timedelta(days=self.keep_days))
            if gone:
                log.info("up-sync: %d acknowledged journal events older than %g days deleted", gone, self.keep_days)
        if self._last_error is not None:
            log.info("up-sync to %s works again (province holds seq %d)", self.url, answer["seq"])
            self._last_error = None
        return added

    # ---- asked by ``motcua sync rebase`` (no thread) ---------------------------------------
    def province_head(self) -> tuple[int, str]:
        return self._fetch_head()

    def province_hash_at(self, seq: int) -> str | None:
        return self._request("GET", f"/api/v1/province/sites/{self.site}/events/{seq}/hash", b"")["hash"]

    def _fetch_head(self) -> tuple[int, str]:
        answer = self._request("GET", f"/api/v1/province/sites/{self.site}/head", b"")
        return answer["seq"], answer["hash"]

    def _request(self, method: str, path: str, body: bytes) -> dict:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout_s)
        headers = signing.headers(self.key, self.site, int(time.time()), method, path, body)
        if body:
            headers["Content-Type"] = "application/json"
        try:
            response = self._client.request(method, self.url + path, content=body, headers=headers)
        except httpx.HTTPError as err:
            self._head = None
            raise SyncError(f"province {self.url} unreachable ({type(err).__name__})", retry=True) from err
        if response.status_code == 200:
            return response.json()
        self._head = None
        try:
            error = response.json()["error"]
            text = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            text = f"HTTP {response.status_code}"
        raise SyncError(f"province {self.url} refused: {text}", retry=response.status_code >= 500)

    def _failed(self, message: str) -> None:
        if message != self._last_error:
            log.warning("up-sync: %s", message)
            self._last_error = message
        try:
            with self.db.write() as conn:
                journal.save_state(conn, self.site, attempt_at=datetime.now(timezone.utc), error=message[:500])
        except Exception:  # pragma: no cover - the database line of the doctor says why
            pass


def rebase(sync: UpSync, now: datetime | None = None) -> journal.Rebased | None:
    """Re-base a site restored from an older backup onto what the province holds (docs/province.md).

    Finds the last event the site and the province share (hashes chain, so a binary search over
    seq finds it), then :func:`journal.rebase_onto`. ``None`` when the site is not forked: its
    journal contains the province's head (it is only behind, or in step, or ahead).
    """
    now = now or datetime.now(timezone.utc)
    held_seq, held_hash = sync.province_head()
    with sync.db.read() as conn:
        local_seq, _ = journal.head(conn, sync.site)
        if local_seq >= held_seq and journal.hash_at(conn, sync.site, held_seq) == held_hash:
            return None
    low, high = 0, min(local_seq, held_seq)  # hash at ``low`` is shared; find the highest such seq
    while low < high:
        mid = (low + high + 1) // 2
        with sync.db.read() as conn:
            mine = journal.hash_at(conn, sync.site, mid)
        if mine is not None and mine == sync.province_hash_at(mid):
            low = mid
        else:
            high = mid - 1
    with sync.db.write() as conn:
        return journal.rebase_onto(conn, sync.site, low, held_seq, held_hash, now)
