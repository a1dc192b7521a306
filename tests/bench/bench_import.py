"""Benchmark: importing a centre's register (``motcua history import``) — rows per second of a
dry run and of the real import into SQLite (and PostgreSQL with --postgres). A script, not a test:

    .venv/bin/python tests/bench/bench_import.py [--rows 100000] [--postgres]

Floor, measured in the same run: reading the same CSV with the csv module alone, and a bare
``executemany`` INSERT of the same number of rows into a one-table SQLite database.
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from server.storage import catalog, migrate  # noqa: E402
from server.storage.db import Database  # noqa: E402
from server.storage.dossier_store import DossierStore  # noqa: E402
from server.storage.history_import import import_register  # noqa: E402

HEADER = ["Mã hồ sơ", "Mã thủ tục", "Chủ hồ sơ", "Kênh", "Ngày nộp", "Ngày tiếp nhận", "Ngày kết thúc xử lý",
          "Ngày trả kết quả"]
PROCEDURES = ["1.004873", "1.004222", "1.001193", "2.000815", "1.001612"]


def write_register(path: Path, n: int, seed: int = 3) -> None:
    rnd = random.Random(seed)
    start = datetime(2026, 1, 5, 8)
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        out = csv.writer(f, delimiter=";")
        out.writerow(HEADER)
        for i in range(n):
            filed = start + timedelta(days=rnd.randrange(300), minutes=rnd.randrange(540))
            channel = rnd.choices(("Trực tuyến", "Trực tiếp", "Bưu chính"), (75, 23, 2))[0]
            accepted = filed + timedelta(hours=rnd.choice((0, 0, 14, 20))) if channel == "Trực tuyến" else filed
            ended = accepted + timedelta(days=rnd.randrange(1, 12)) if rnd.random() < 0.9 else None
            returned = ended + timedelta(days=1) if ended and rnd.random() < 0.8 else None
            fmt = lambda d: d.strftime("%d/%m/%Y %H:%M") if d else ""  # noqa: E731
            out.writerow([f"H12-{i:08d}", rnd.choice(PROCEDURES), f"Người {i}", channel, fmt(filed), fmt(accepted),
                          fmt(ended), fmt(returned)])


def floor(path: Path, n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    with path.open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter=";"))
    read = time.perf_counter() - t0
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (a TEXT, b TEXT, c TEXT, d TEXT, e TEXT, f TEXT, g TEXT, h TEXT)")
    t0 = time.perf_counter()
    con.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?,?)", rows[1:n + 1])
    con.commit()
    return read, time.perf_counter() - t0


def bench(label: str, url: str, register: Path, n: int) -> None:
    db = Database(url, sqlite_synchronous="NORMAL").open()
    migrate.upgrade(db)
    catalog.load_site(db, catalog.demo_site_file())
    store = DossierStore(db, public_url="http://qr.test")
    now = datetime(2026, 12, 5, tzinfo=timezone.utc)
    t0 = time.perf_counter()
    dry = import_register(store, "demo", register, dry_run=True, now=now)
    dry_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    done = import_register(store, "demo", register, dry_run=False, now=now)
    run_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = import_register(store, "demo", register, dry_run=False, now=now)
    again_s = time.perf_counter() - t0
    assert done.created == dry.created == n - len(done.refused) and again.created == 0
    print(f"[{label}] dry run {n / dry_s:,.0f} rows/s ({dry_s:.1f} s); import {n / run_s:,.0f} rows/s ({run_s:.1f} s, "
          f"{done.created:,} created); re-run {n / again_s:,.0f} rows/s, {again.created} created")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        register = Path(tmp) / "register.csv"
        write_register(register, args.rows)
        read_s, insert_s = floor(register, args.rows)
        print(f"[floor] csv.reader {args.rows / read_s:,.0f} rows/s; bare sqlite executemany "
              f"{args.rows / insert_s:,.0f} rows/s")
        bench("sqlite", f"sqlite:///{tmp}/import.sqlite3", register, args.rows)
        if args.postgres:
            from tests.support.postgres import PostgresServer

            server = PostgresServer().start()
            try:
                bench("postgresql", server.create_database("bench_import"), register, args.rows)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
