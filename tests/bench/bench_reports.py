"""Benchmark: the period report (carried over, flows, stocks at the end, four breakdowns) over
1,000,000 dossiers on SQLite and PostgreSQL, and the citizen tracking endpoints (requests/s,
p50/p99) on a live site. A script, not a test:

    .venv/bin/python tests/bench/bench_reports.py [--rows 1000000] [--runs 3] [--skip-sqlite] [--skip-postgres]
        [--skip-http]

``--runs N`` times each report N times over the same load (each run the median of 5) and prints
min / median / max of the runs, with the floor measured in each run.

Dossiers are bulk-loaded with their ledger (``dossier_spans``: waiting for acceptance, open,
waiting for a supplement; ``dossier_flow_rollup``: accepted, resolved ahead / on time / late,
withdrawn, refused… per site, day and month, channel, and procedure or official), as the store writes them,
over one year, 10 sites, 20 procedures, 5 officials per site. The report runs exactly the
production query. Floor: a bare ``SELECT count(*) FROM dossiers`` in the same run.
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
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from server.domain.calendar import WorkingCalendar  # noqa: E402
from server.storage import migrate, period_report  # noqa: E402
from server.storage.db import Database  # noqa: E402
from server.storage.ledger_store import ROLLUP_KEY, rollup_keys, span_class  # noqa: E402
from server.domain.ledger import Span  # noqa: E402
from server.storage.tables import sites  # noqa: E402

SITES = [f"xa{n:02d}" for n in range(10)]
PROCEDURES = [f"1.{n:06d}" for n in range(20)]
YEAR = 2026
RECENT = date(YEAR, 11, 1)  # dossiers filed since are left open (14%): the open stock is ~2 months of intake
CAL = WorkingCalendar()
DOSSIER_COLUMNS = ["site", "code", "procedure_code", "legal_days", "channel", "status", "token", "applicant_name",
                   "filed_on", "created_at", "updated_at"]
SPAN_COLUMNS = ["dossier_id", "site", "channel", "procedure_code", "official", "state", "start_on", "end_on",
                "span_class", "due_date", "stopped_on", "supplements"]
FLOW_COLUMNS = [*ROLLUP_KEY, "n"]


def generate(n: int, seed: int = 7):
    """(dossier rows, span rows, flow counts): a year of dossiers with their ledgers."""
    rnd = random.Random(seed)
    start = date(YEAR, 1, 1)
    moment = datetime(YEAR, 6, 1, tzinfo=timezone.utc).replace(tzinfo=None)
    flows: Counter = Counter()
    dossiers, spans = [], []
    for i in range(n):
        site = SITES[i % len(SITES)]
        filed = start + timedelta(days=rnd.randrange(365))
        channel = rnd.choices(("online", "direct", "postal"), (75, 23, 2))[0]
        procedure = PROCEDURES[rnd.randrange(len(PROCEDURES))]
        official = f"canbo{rnd.randrange(5)}"
        legal = rnd.choice((0, 3, 5, 7, 15))
        due = filed + timedelta(days=legal + legal // 5 * 2)
        key = (site, channel, procedure)
        accepted = filed
        if channel == "online":
            accepted = filed + timedelta(days=rnd.choice((0, 0, 1, 3)))
            flows[site, filed, "submitted", channel, procedure, ""] += 1
            if accepted > filed:
                spans.append((i + 1, *key, "", "submitted", filed, accepted, None, None, 0))
            if rnd.random() < 0.02:
                flows[site, accepted, "not_accepted", channel, procedure, ""] += 1
                dossiers.append((site, f"B{i:09d}", procedure, legal, channel, "refused", f"bench-token-{i:012d}",
                                 "Người Thử", filed, moment, moment))
                continue
        flows[site, accepted, "received", channel, procedure, official] += 1
        fate, end, status = rnd.random(), None, "processing"
        if fate < 0.80:
            end = due + timedelta(days=rnd.randint(-3, 2))
            end = max(end, accepted)
            kind = "resolved_ahead" if end < due else "resolved_on_time" if end == due else "resolved_late"
            flows[site, end, kind, channel, procedure, official] += 1
            status = "returned"
        elif fate < 0.84:
            end, status = accepted + timedelta(days=rnd.randrange(1, 20)), "withdrawn"
            flows[site, end, "withdrawn", channel, procedure, official] += 1
        elif fate < 0.86:
            end, status = accepted + timedelta(days=1), "refused"
            flows[site, end, "refused", channel, procedure, official] += 1
        elif filed < RECENT:  # an old dossier is not left open: resolved late
            end, status = due + timedelta(days=rnd.randint(1, 30)), "returned"
            flows[site, end, "resolved_late", channel, procedure, official] += 1
        if fate > 0.95 and filed >= RECENT:  # waiting for a supplement since two days after acceptance
            stop = accepted + timedelta(days=2)
            spans.append((i + 1, *key, official, "open", accepted, stop, due, None, 0))
            spans.append((i + 1, *key, official, "supplement", stop, None, due, stop, 1))
            flows[site, stop, "supplement_requested", channel, procedure, official] += 1
            status = "supplement_requested"
        elif end is None or end > accepted:
            spans.append((i + 1, *key, official, "open", accepted, end, due, None, 0))
        dossiers.append((site, f"B{i:09d}", procedure, legal, channel, status, f"bench-token-{i:012d}", "Người Thử",
                         filed, moment, moment))
    span_rows = [(*s[:6], s[6], s[7], span_class(Span(s[5], s[6], s[7], None, None, 0, "")), *s[8:]) for s in spans]
    return dossiers, span_rows, flows


def load(db: Database, n: int) -> tuple[float, int]:
    dossier_rows, span_rows, flows = generate(n)
    rollup: Counter = Counter()
    for (site, day, kind, channel, procedure, official), n in flows.items():
        for key in rollup_keys(site, channel, procedure, day, kind, official):
            rollup[key] += n
    flow_rows = [(*k, v) for k, v in rollup.items()]
    t0 = time.perf_counter()
    with db.write() as conn:
        for s in SITES:
            conn.execute(sites.insert().values(id=s, name=f"Trung tâm {s}", timezone="Asia/Ho_Chi_Minh", settings="{}"))
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        for table, columns, rows in (("dossiers", DOSSIER_COLUMNS, dossier_rows),
                                     ("dossier_spans", SPAN_COLUMNS, span_rows),
                                     ("dossier_flow_rollup", FLOW_COLUMNS, flow_rows)):
            if db.is_sqlite:
                cur.execute("BEGIN")
                cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                                rows)
                cur.execute("COMMIT")
            else:
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
        if not db.is_sqlite:
            driver = raw.driver_connection
            driver.autocommit = True
            driver.execute("VACUUM ANALYZE")  # index-only scans need the visibility map
            driver.autocommit = False
    finally:
        raw.close()
    return time.perf_counter() - t0, len(span_rows)


def timed(fn, repeat: int = 5) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000, statistics.median(times) * 1000, result


def bench_db(label: str, url: str, n: int, runs: int = 1) -> None:
    db = Database(url, sqlite_synchronous="OFF" if url.startswith("sqlite") else "FULL").open()
    migrate.upgrade(db)
    load_s, span_count = load(db, n)
    print(f"[{label}] loaded {n:,} dossiers, {span_count:,} spans in {load_s:.1f} s")

    def floor():
        with db.read() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM dossiers").scalar()

    cases = (("province, a month", None, date(YEAR, 11, 1), date(YEAR, 11, 30)),
             ("province, the year", None, date(YEAR, 1, 1), date(YEAR, 12, 31)),
             ("one site, a month", SITES[0], date(YEAR, 11, 1), date(YEAR, 11, 30)))
    seen: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in cases}
    floors: list[float] = []
    for run in range(1, runs + 1):
        f_best, f_median, count = timed(floor)
        assert count == n
        floors.append(f_median)
        print(f"[{label}] run {run}: floor: SELECT count(*) FROM dossiers: best {f_best:.0f} ms, "
              f"median {f_median:.0f} ms")
        for name, site, start, end in cases:
            best, median, report = timed(lambda: period_report.period_report(
                db, site, start, end, today=date(YEAR + 1, 1, 15), calendar_for=lambda s: CAL))
            f = report["figures"]
            assert f["to_handle"] == f["resolved"] + f["withdrawn"] + f["refused"] + f["open_end"], f
            seen[name].append((median, median / f_median))
            print(f"[{label}] run {run}: period report, {name}: best {best:.0f} ms, median {median:.0f} ms "
                  f"(x{median / f_median:.1f} the floor's median; carried over {f['carried_over']:,}, "
                  f"received {f['received']:,}, resolved {f['resolved']:,}, open at the end {f['open_end']:,})")
    if runs > 1:
        print(f"[{label}] floor over {runs} runs: min {min(floors):.0f} / median {statistics.median(floors):.0f} / "
              f"max {max(floors):.0f} ms")
        for name, got in seen.items():
            ms, ratios = sorted(m for m, _ in got), sorted(r for _, r in got)
            print(f"[{label}] period report, {name}, over {runs} runs: min {ms[0]:.0f} / median "
                  f"{statistics.median(ms):.0f} / max {ms[-1]:.0f} ms (x{ratios[0]:.1f} / "
                  f"x{statistics.median(ratios):.1f} / x{ratios[-1]:.1f} the floor)")
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
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            bench_db("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args.rows, args.runs)
    if not args.skip_postgres:
        from tests.support.postgres import PostgresServer

        server = PostgresServer().start()
        try:
            bench_db("postgresql", server.create_database("bench"), args.rows, args.runs)
        finally:
            server.stop()
    if not args.skip_http:
        bench_http()


if __name__ == "__main__":
    main()
