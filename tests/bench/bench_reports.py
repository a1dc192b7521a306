"""Benchmark: the dossier report over 1,000,000 dossiers (SQLite and PostgreSQL), and the citizen
tracking endpoints (requests/s, p50/p99) on a live site. A script, not a test:

    .venv/bin/python tests/bench/bench_reports.py [--rows 1000000] [--skip-postgres] [--skip-http]

Rows are bulk-loaded with their derived columns (filed_on, due_date, resolved_on…) as the
store writes them, into a database at revision 0002; upgrading to head then backfills the report
roll-up (migration 0003) from them, and the report runs exactly the production query.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from server.domain.calendar import WorkingCalendar  # noqa: E402
from server.storage import migrate, reports  # noqa: E402
from server.storage.db import Database  # noqa: E402
from server.storage.tables import dossiers, sites  # noqa: E402

SITES = [f"xa{n:02d}" for n in range(10)]
YEAR = 2026
CAL = WorkingCalendar()
COLUMNS = ["site", "code", "procedure_code", "legal_days", "channel", "status", "token", "applicant_name",
           "filed_on", "received_on", "due_date", "clock_stopped_on", "resolved_on", "closed_on", "promised_date",
           "created_at", "updated_at"]


def rows(n: int, seed: int = 7):
    rnd = random.Random(seed)
    start = date(YEAR, 1, 1)
    moment = datetime(YEAR, 6, 1, tzinfo=timezone.utc).replace(tzinfo=None)
    for i in range(n):
        filed = start + timedelta(days=rnd.randrange(365))
        channel = rnd.choices(("online", "direct", "postal"), (75, 23, 2))[0]
        legal = rnd.choice((0, 3, 5, 7, 15))
        due = filed + timedelta(days=legal + legal // 5 * 2)
        fate = rnd.random()
        status, received, resolved, closed, stopped = "processing", filed, None, None, None
        if fate < 0.80:
            status, resolved = "returned", due + timedelta(days=rnd.randint(-3, 2))
        elif fate < 0.85:
            status, stopped = "supplement_requested", filed + timedelta(days=1)
        elif fate < 0.87:
            status = "paused"
        elif fate < 0.90:
            status, closed = "withdrawn", filed + timedelta(days=1)
        elif fate < 0.92:
            status, closed = "refused", filed
        elif fate < 0.93 and channel == "online":
            status, received, due = "submitted", None, None
        yield (SITES[i % len(SITES)], f"B{i:09d}", "1.004873", legal, channel, status, f"bench-token-{i:012d}",
               "Người Thử", filed, received, due, stopped, resolved, closed, due, moment, moment)


def load(db: Database, n: int) -> float:
    t0 = time.perf_counter()
    with db.write() as conn:
        for s in SITES:
            conn.execute(sites.insert().values(id=s, name=f"Trung tâm {s}", timezone="Asia/Ho_Chi_Minh", settings="{}"))
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if db.is_sqlite:
            cur.execute("BEGIN")
            cur.executemany(f"INSERT INTO dossiers ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                            rows(n))
            cur.execute("COMMIT")
            cur.execute("ANALYZE")
        else:
            with cur.copy(f"COPY dossiers ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows(n):
                    copy.write_row(row)
            raw.commit()
            cur.execute("ANALYZE dossiers")
            raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - t0


def time_report(db: Database, site: str | None, repeat: int = 5) -> tuple[float, float, dict]:
    times, report = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        report = reports.dossier_report(db, site, date(YEAR, 1, 1), date(YEAR, 12, 31), today=date(YEAR, 12, 31),
                                        calendar_for=lambda s: CAL)
        times.append(time.perf_counter() - t0)
    return min(times) * 1000, statistics.median(times) * 1000, report


def bench_db(label: str, url: str, n: int) -> None:
    db = Database(url, sqlite_synchronous="OFF" if url.startswith("sqlite") else "FULL").open()
    migrate.upgrade(db, "0002")
    load_s = load(db, n)
    print(f"[{label}] loaded {n:,} dossiers in {load_s:.1f} s")
    t0 = time.perf_counter()
    migrate.upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    print(f"[{label}] migration 0003 backfilled the report roll-up in {time.perf_counter() - t0:.1f} s")
    best, median, report = time_report(db, None)
    assert report["received"]["total"] == n, report["received"]
    print(f"[{label}] province report over {n:,} dossiers: best {best:.0f} ms, median {median:.0f} ms "
          f"(resolved {report['resolved']}, in progress {report['in_progress']})")
    best, median, report = time_report(db, SITES[0])
    print(f"[{label}] one site's year ({report['received']['total']:,} dossiers): best {best:.0f} ms, "
          f"median {median:.0f} ms")
    db.close()


# ---- tracking over HTTP ----------------------------------------------------------------------------

def _serve(workdir: str, ready, port_out) -> None:
    from tests.support.live import LiveSite

    live = LiveSite(Path(workdir))
    live.settings = live.settings.model_copy(update={"rate_limit_per_minute": 10**9})
    live.start()
    port_out.value = live.port
    ready.set()
    threading.Event().wait()


def bench_http(seconds: float = 8.0, threads: int = 8) -> None:
    import httpx

    workdir = tempfile.mkdtemp(prefix="motcua-bench-")
    ctx = mp.get_context("spawn")
    ready, port = ctx.Event(), ctx.Value("i", 0)
    proc = ctx.Process(target=_serve, args=(workdir, ready, port), daemon=True)
    proc.start()
    try:
        if not ready.wait(60):
            raise RuntimeError("server did not start")
        base = f"http://127.0.0.1:{port.value}"
        from tests.support.live import PASSWORD

        token = httpx.post(f"{base}/api/v1/auth/token", data={"username": "canbo1", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        kiosk_login = httpx.post(f"{base}/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}).json()
        admin = {"Authorization": f"Bearer {kiosk_login['access_token']}"}
        tickets = [httpx.post(f"{base}/api/v1/sites/demo/tickets", headers=admin,
                              json={"service": "hotich", "idempotency_key": f"bench-{i:06d}"}).json() for i in range(40)]
        for t in tickets[:10]:
            httpx.post(f"{base}/api/v1/dossiers", headers=headers,
                       json={"ticket_id": t["id"], "procedure_code": "1.004873", "applicant_name": "Lò Thị Mai"})
        for path, name in (("/api/v1/track/{}", "JSON"), ("/t/{}", "HTML page")):
            latencies: list[float] = []
            lock = threading.Lock()
            stop = time.perf_counter() + seconds

            def worker(k: int) -> None:
                mine: list[float] = []
                with httpx.Client(base_url=base) as c:
                    i = k
                    while time.perf_counter() < stop:
                        t0 = time.perf_counter()
                        r = c.get(path.format(tickets[i % len(tickets)]["token"]))
                        mine.append(time.perf_counter() - t0)
                        assert r.status_code == 200, r.status_code
                        i += threads
                with lock:
                    latencies.extend(mine)

            pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
            t0 = time.perf_counter()
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            elapsed = time.perf_counter() - t0
            latencies.sort()
            p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
            print(f"[tracking {name}] {len(latencies) / elapsed:.0f} req/s with {threads} clients; "
                  f"p50 {p(0.50):.1f} ms, p99 {p(0.99):.1f} ms (ticket and dossier tokens, SQLite)")
    finally:
        proc.terminate()
        proc.join(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            bench_db("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args.rows)
    if not args.skip_postgres:
        from tests.support.postgres import PostgresServer

        server = PostgresServer().start()
        try:
            bench_db("postgresql", server.create_database("bench"), args.rows)
        finally:
            server.stop()
    if not args.skip_http:
        bench_http()


if __name__ == "__main__":
    main()
