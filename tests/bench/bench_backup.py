"""Backup of a busy site's SQLite database: motcua backup vs the bare backup API, and what a
backup does to writes going on meanwhile.

    .venv/bin/python tests/bench/bench_backup.py [--tickets 200000]

Floor: the same copy by the bare ``sqlite3`` backup API (one step), without motcua's check,
fsync and rename. The write figures: a writer committing one small transaction at a time (as
ticket issues do), its latency with no backup running and while backups run back to back.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from server.ops.backup import backup_sqlite
from server.storage import catalog, migrate
from server.storage.db import Database


def build(path: Path, tickets: int) -> None:
    db = Database(f"sqlite:///{path}").open()
    migrate.upgrade(db)
    catalog.load_site(db, catalog.demo_site_file())
    db.close()
    con = sqlite3.connect(path)
    now = datetime.now(timezone.utc).isoformat()
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO tickets (site, service, prefix, number, day, issued_at, status, recall_count, transfer_count,"
        " idempotency_key, token) VALUES ('demo', 'hotich', 'A', ?, ?, ?, 'done', 0, 0, ?, ?)",
        ((n % 1000 + 1, (date(2020, 1, 1) + timedelta(days=n // 1000)).isoformat(), now, f"key-{n}", f"tok-{n:032d}")
         for n in range(tickets)))
    con.executemany(
        "INSERT INTO ticket_events (ticket_id, at, action, status) VALUES (?, ?, 'issue', 'waiting')",
        ((n + 1, now) for n in range(tickets)))
    con.commit()
    con.close()


def bare_backup(src: Path, dst: Path) -> None:
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    a.backup(b)
    b.close()
    a.close()


def writer(path: Path, stop: threading.Event, latencies: list[float]) -> None:
    con = sqlite3.connect(path, isolation_level=None, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    now = datetime.now(timezone.utc).isoformat()
    while not stop.is_set():
        t0 = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO ticket_events (ticket_id, at, action, status) VALUES (1, ?, 'recall', 'called')", (now,))
        con.execute("COMMIT")
        latencies.append(time.perf_counter() - t0)
        time.sleep(0.002)
    con.close()


def p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=200_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db = tmp / "site.sqlite3"
        build(db, args.tickets)
        size_mb = db.stat().st_size / 1e6
        bare, ours = [], []
        for i in range(3):
            t0 = time.perf_counter()
            bare_backup(db, tmp / f"bare-{i}.sqlite3")
            bare.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            backup_sqlite(db, tmp / "backups", keep=2)
            ours.append(time.perf_counter() - t0)
        print(f"database: {args.tickets} tickets, {size_mb:.1f} MB")
        print(f"bare sqlite3 backup API (floor): {statistics.median(bare):.3f} s (median of 3)")
        print(f"motcua backup (check, fsync, rename): {statistics.median(ours):.3f} s (median of 3), "
              f"ratio {statistics.median(ours) / statistics.median(bare):.2f}x the floor")

        for label, during in (("no backup", False), ("backups running", True)):
            stop, lat = threading.Event(), []
            thread = threading.Thread(target=writer, args=(db, stop, lat))
            thread.start()
            t_end = time.monotonic() + 3
            backups = 0
            while time.monotonic() < t_end:
                if during:
                    backup_sqlite(db, tmp / "backups", keep=2)
                    backups += 1
                else:
                    time.sleep(0.05)
            stop.set()
            thread.join()
            print(f"writes with {label}: {len(lat)} commits in 3 s, p50 {p(lat, 0.5):.2f} ms, "
                  f"p99 {p(lat, 0.99):.2f} ms, max {max(lat) * 1000:.1f} ms"
                  + (f" ({backups} backups)" if during else ""))


if __name__ == "__main__":
    main()
