"""Call-next under a crowd: 8 officials × 200 simultaneous rounds against the real server process.

    .venv/bin/python tests/bench/bench_calls.py [--rounds 200] [--officials 8] [--runs 3] [--only sqlite|postgres]

For each database (SQLite, and a throwaway PostgreSQL), each run: a fresh database and
``motcua server`` process; ``officials × rounds`` tickets issued first; then every round all
officials press call-next at the same moment (a barrier releases their threads, each with its own
HTTP client), and each starts serving the ticket it got (so its next call-next finishes it).

Figures per run: tickets called twice (from the answers and from the database's call events; must
be 0), stuck counters (a start refused, or at the end a counter pointing at a ticket it does not
hold), queue_empty answers, and calls per second over the rounds.

Floor, measured in the same run: the same claims by bare SQL with the database's own driver
(sqlite3 / psycopg), no HTTP: the same number of threads, the same barrier per round, each round
one claim transaction (PostgreSQL: ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)
RETURNING``; SQLite: ``BEGIN IMMEDIATE`` + ``UPDATE … RETURNING`` under an in-process lock, as the
server does) and one conditional start ``UPDATE … WHERE status = 'called'``, on a scratch table of
the same shape in the same database. Ratio = server calls/s ÷ floor calls/s.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter as Tally
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402
from sqlalchemy import create_engine, func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from server.storage.tables import counters, ticket_events, tickets  # noqa: E402
from tests.support.crowd import crowd_site  # noqa: E402


def rounds_together(workers: int, rounds: int, step) -> float:
    """``step(worker, round)`` in ``workers`` threads, all released together each round; seconds."""
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run(w):
        try:
            for r in range(rounds):
                barrier.wait()
                step(w, r)
        except BaseException as err:  # reported after the join
            errors.append(err)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


def issue_all(site, total: int, clients: int = 8) -> None:
    per = -(-total // clients)

    def work(i):
        with site.client() as kiosk:
            for _ in range(min(per, total - i * per)):
                site.issue(kiosk)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def server_run(db_url: str, work: Path, officials: int, rounds: int) -> dict:
    site = crowd_site(db_url, work, counters=officials)
    try:
        issue_all(site, officials * rounds)
        clients = [site.client(str(n)) for n in range(1, officials + 1)]
        got: list[list[int]] = [[] for _ in range(officials)]
        stuck_starts = [0] * officials
        empty = [0] * officials
        other = Tally()

        def step(w, _r):
            c = clients[w]
            r = c.post(f"/api/v1/sites/demo/counters/{w + 1}/call-next")
            if r.status_code != 200:
                code = r.json()["error"]["code"]
                if code == "queue_empty":
                    empty[w] += 1
                else:
                    other[code] += 1
                return
            tid = r.json()["id"]
            got[w].append(tid)
            if c.post(f"/api/v1/tickets/{tid}/start").status_code != 200:
                stuck_starts[w] += 1

        elapsed = rounds_together(officials, rounds, step)
        for c in clients:
            c.close()
        answered = [t for g in got for t in g]
        engine = create_engine(db_url)
        with engine.connect() as conn:
            per_ticket = conn.execute(
                select(ticket_events.c.ticket_id, func.count()).where(ticket_events.c.action == "call")
                .group_by(ticket_events.c.ticket_id).having(func.count() > 1)).all()
            held = conn.execute(select(counters.c.id, counters.c.current_ticket_id, tickets.c.counter, tickets.c.status)
                                .select_from(counters.outerjoin(tickets, tickets.c.id == counters.c.current_ticket_id))
                                ).all()
        engine.dispose()
        bad_pointers = sum(1 for row in held if row.current_ticket_id is not None
                           and (row.counter != row.id or row.status not in ("called", "serving")))
        return {
            "calls": len(answered),
            "twice_answers": sum(1 for n in Tally(answered).values() if n > 1),
            "twice_events": len(per_ticket),
            "stuck": sum(stuck_starts) + bad_pointers,
            "empty": sum(empty),
            "other": dict(other),
            "calls_per_s": len(answered) / elapsed,
        }
    finally:
        site.stop()


# ---- the floor: the same claims, bare SQL, no HTTP ------------------------------------------------
SCRATCH = "bench_claims"


def floor_run(db_url: str, officials: int, rounds: int) -> dict:
    url = make_url(db_url)
    total = officials * rounds
    if url.get_backend_name() == "sqlite":
        path = url.database
        setup = sqlite3.connect(path, isolation_level=None)
        setup.executescript(f"""
            DROP TABLE IF EXISTS {SCRATCH};
            CREATE TABLE {SCRATCH} (id INTEGER PRIMARY KEY, status TEXT NOT NULL, counter TEXT, issued_at REAL);
            CREATE INDEX ix_{SCRATCH} ON {SCRATCH} (status, issued_at, id);
        """)
        setup.execute("BEGIN")
        setup.executemany(f"INSERT INTO {SCRATCH} (status, issued_at) VALUES ('waiting', ?)", [(i,) for i in range(total)])
        setup.execute("COMMIT")
        setup.close()
        lock = threading.Lock()
        conns = []
        for _ in range(officials):
            c = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=FULL")  # the server's default
            c.execute("PRAGMA busy_timeout=30000")
            conns.append(c)

        def tx(c, sql, params):
            with lock:
                c.execute("BEGIN IMMEDIATE")
                row = c.execute(sql, params).fetchone()
                c.execute("COMMIT")
                return row

        claim = (f"UPDATE {SCRATCH} SET status = 'called', counter = ? WHERE id = (SELECT id FROM {SCRATCH} "
                 f"WHERE status = 'waiting' ORDER BY issued_at, id LIMIT 1) RETURNING id")
        start = f"UPDATE {SCRATCH} SET status = 'serving' WHERE id = ? AND status = 'called' RETURNING id"
    else:
        import psycopg

        dsn = f"host={url.host} port={url.port} user={url.username} dbname={url.database}"
        with psycopg.connect(dsn, autocommit=True) as setup:
            setup.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
            setup.execute(f"CREATE TABLE {SCRATCH} (id serial PRIMARY KEY, status text NOT NULL, counter text, "
                          f"issued_at double precision)")
            setup.execute(f"CREATE INDEX ix_{SCRATCH} ON {SCRATCH} (status, issued_at, id)")
            with setup.cursor() as cur:
                cur.executemany(f"INSERT INTO {SCRATCH} (status, issued_at) VALUES ('waiting', %s)",
                                [(i,) for i in range(total)])
        conns = [psycopg.connect(dsn) for _ in range(officials)]

        def tx(c, sql, params):
            with c.transaction():
                return c.execute(sql, params).fetchone()

        claim = (f"UPDATE {SCRATCH} SET status = 'called', counter = %s WHERE id = (SELECT id FROM {SCRATCH} "
                 f"WHERE status = 'waiting' ORDER BY issued_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id")
        start = f"UPDATE {SCRATCH} SET status = 'serving' WHERE id = %s AND status = 'called' RETURNING id"
    got: list[list[int]] = [[] for _ in range(officials)]

    def step(w, _r):
        row = tx(conns[w], claim, (str(w + 1),))
        if row is not None:
            got[w].append(row[0])
            tx(conns[w], start, (row[0],))

    elapsed = rounds_together(officials, rounds, step)
    for c in conns:
        c.close()
    answered = [t for g in got for t in g]
    return {"calls": len(answered), "twice": sum(1 for n in Tally(answered).values() if n > 1),
            "calls_per_s": len(answered) / elapsed}


def spread(values) -> str:
    return f"min {min(values):.0f} / median {statistics.median(values):.0f} / max {max(values):.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--officials", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="motcua-bench-calls-"))
    pg = None
    kinds = [args.only] if args.only else ["sqlite", "postgres"]
    if "postgres" in kinds:
        from tests.support.postgres import PostgresServer

        pg = PostgresServer().start()
    try:
        for kind in kinds:
            ours, floors, ratios = [], [], []
            for run in range(1, args.runs + 1):
                run_dir = work / f"{kind}-{run}"
                run_dir.mkdir()
                url = (f"sqlite:///{run_dir / 'bench.sqlite3'}" if kind == "sqlite"
                       else pg.create_database(f"bench_calls_{run}"))
                r = server_run(url, run_dir, args.officials, args.rounds)
                f = floor_run(url, args.officials, args.rounds)
                ours.append(r["calls_per_s"])
                floors.append(f["calls_per_s"])
                ratios.append(r["calls_per_s"] / f["calls_per_s"])
                print(f"[{kind} run {run}] {args.officials} officials × {args.rounds} rounds: {r['calls']} calls, "
                      f"called twice {r['twice_answers']} (answers) / {r['twice_events']} (call events), "
                      f"stuck counters {r['stuck']}, queue_empty {r['empty']}, other refusals {r['other'] or 0}; "
                      f"{r['calls_per_s']:.0f} calls/s | floor (bare SQL, no HTTP): {f['calls']} claims, "
                      f"twice {f['twice']}, {f['calls_per_s']:.0f} claims/s | ratio {ratios[-1]:.3f}", flush=True)
            print(f"[{kind}] calls/s {spread(ours)}; floor claims/s {spread(floors)}; ratio "
                  f"min {min(ratios):.3f} / median {statistics.median(ratios):.3f} / max {max(ratios):.3f}", flush=True)
    finally:
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
