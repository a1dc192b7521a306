"""The province tier in tests: a PostgreSQL database, registered sites, replicas as real processes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select

from server.storage.journal import GENESIS, canonical, event_hash
from server.storage.tables import province_events, province_sites
from server.sync import signing

from .processes import ServerProcess


def chain_breaks(rows) -> list[str]:
    """What is wrong with a list of journal-shaped rows (seq order): empty when the chain holds."""
    problems, prev = [], GENESIS
    for i, r in enumerate(rows, start=1):
        if r.seq != i:
            problems.append(f"seq {r.seq} at position {i}")
        if r.prev_hash != prev:
            problems.append(f"seq {r.seq}: prev_hash does not follow")
        if event_hash(r.site, r.seq, r.event_id, r.kind, r.at, r.prev_hash, r.body) != r.hash:
            problems.append(f"seq {r.seq}: hash does not match content")
        prev = r.hash
    return problems


def synthetic_events(site: str, n: int, start: int = 1, prev: str = GENESIS, tag: str = "") -> list[dict]:
    """A valid chain of ``n`` events continuing after ``prev`` (for province-only tests)."""
    events = []
    for seq in range(start, start + n):
        body = canonical({"ticket": seq, "action": "issue", "tag": tag})
        event_id = f"{site}-{tag}-{seq}"[:36]
        at = "2026-12-05T01:00:00.000+00:00"
        h = event_hash(site, seq, event_id, "ticket", at, prev, body)
        events.append({"seq": seq, "event_id": event_id, "kind": "ticket", "at": at, "body": body,
                       "prev_hash": prev, "hash": h})
        prev = h
    return events


def post_batch(base_url: str, site: str, key: str, events: list[dict], site_head: dict | None = None,
               client: httpx.Client | None = None, ts: int | None = None) -> httpx.Response:
    if site_head is None:
        last = events[-1] if events else None
        site_head = {"seq": last["seq"], "hash": last["hash"]} if last else {"seq": 0, "hash": GENESIS}
    body = json.dumps({"site": site, "site_head": site_head, "events": events}).encode()
    path = "/api/v1/province/ingest"
    headers = signing.headers(key, site, ts or int(time.time()), "POST", path, body)
    headers["Content-Type"] = "application/json"
    return (client or httpx).post(base_url + path, content=body, headers=headers, timeout=30)


class Province:
    """A province database with its replicas (``role=province`` server processes)."""

    def __init__(self, database_url: str, workdir: Path) -> None:
        self.database_url = database_url
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.replicas: list[ServerProcess] = []
        self.engine = create_engine(database_url.replace("postgresql+psycopg", "postgresql+psycopg"))

    def _process(self) -> ServerProcess:
        return ServerProcess(self.database_url, workdir=self.workdir, site="province",
                             extra_env={"MOTCUA_ROLE": "province"})

    def prepare(self) -> "Province":
        self._process().cli("db", "upgrade")
        return self

    def register(self, site: str) -> str:
        return self._process().cli("province", "register", site, "--name", f"Trung tâm {site}")

    def cli(self, *args: str) -> str:
        return self._process().cli(*args)

    def start(self, n: int = 2) -> "Province":
        for _ in range(n):
            self.replicas.append(self._process().start())
        return self

    def stop(self) -> None:
        for r in self.replicas:
            r.stop()
        self.engine.dispose()

    def events(self, site: str):
        with self.engine.connect() as conn:
            return conn.execute(select(province_events).where(province_events.c.site == site)
                                .order_by(province_events.c.seq)).all()

    def site_row(self, site: str):
        with self.engine.connect() as conn:
            return conn.execute(select(province_sites).where(province_sites.c.site == site)).first()

    def wait_for_head(self, site: str, seq: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.site_row(site)
            if row is not None and row.head_seq >= seq:
                return
            time.sleep(0.1)
        raise AssertionError(f"province holds {self.site_row(site).head_seq} of {seq} events of {site}")
