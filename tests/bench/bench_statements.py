"""Where a ticket's and a call's server time goes: SQL statements and transactions per request, and
(``--profile``) the server thread's own profile.

    .venv/bin/python tests/bench/bench_statements.py [--tickets 2000] [--profile [--cpu]] [--synchronous FULL]

Runs the real app under uvicorn in this process on a loopback port (SQLite, no broker: the
outbox keeps its rows), drives it over HTTP with real clients, and counts every statement the
engine sends (``before_cursor_execute``, BEGIN included; COMMIT is the driver's own call and is
counted as a transaction). The floor does one INSERT in one transaction per request
(``tests/bench/floor_app.py``). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import io
import pstats
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import event  # noqa: E402

from server.api.app import create_app  # noqa: E402
from server.auth import AuthStore  # noqa: E402
from server.broker import free_port  # noqa: E402
from server.config import Settings  # noqa: E402
from server.storage import catalog, migrate  # noqa: E402
from server.storage.db import Database  # noqa: E402
from tests.bench.bench_server import site_file  # noqa: E402


class StatementCounter:
    """Statements by their first words, and transactions (BEGIN …), on one engine."""

    def __init__(self, engine) -> None:
        self.statements: collections.Counter[str] = collections.Counter()
        self.total = 0
        self.transactions = 0
        self.enabled = False
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not self.enabled:
            return
        self.total += 1
        words = " ".join(statement.split()[:4])
        if words.startswith("BEGIN"):
            self.transactions += 1
        self.statements[_short(statement)] += 1

    def reset(self) -> None:
        self.statements.clear()
        self.total = self.transactions = 0


def _short(statement: str) -> str:
    words = statement.split()
    head = words[0].upper()
    if head == "SELECT":
        tables = [words[i + 1] for i, w in enumerate(words[:-1]) if w.upper() == "FROM"]
        return f"SELECT … FROM {tables[0] if tables else '?'}"
    if head == "INSERT":
        return f"INSERT INTO {words[2]}"
    if head == "UPDATE":
        return f"UPDATE {words[1]}"
    if head == "DELETE":
        return f"DELETE FROM {words[2]}"
    return " ".join(words[:2])


def run(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="motcua-statements-"))
    url = f"sqlite:///{work / 'site.sqlite3'}"
    db = Database(url).open()
    migrate.upgrade(db)
    catalog.load_site(db, site_file(work / "site.toml", args.counters))
    auth = AuthStore(db, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    auth.add_user("bench", "bench-password", "official")
    kiosk = auth.device_token("kiosk-bench", "kiosk")
    db.close()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(site="demo", secret_key="bench-secret-key-0123456789", database_url=url, public_url=base,
                        sqlite_synchronous=args.synchronous)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    counter = StatementCounter(app.state.db.engine)
    official = httpx.post(base + "/api/v1/auth/token",
                          data={"username": "bench", "password": "bench-password"}).json()["access_token"]
    loop = app.state.notifier._loop  # the server's event loop: every SQLite request runs on its thread
    profiles: dict[str, cProfile.Profile] = {}

    timer = time.thread_time if args.cpu else time.perf_counter

    def profile(name: str | None) -> None:
        """cProfile sees only the thread that enables it: switch it on and off on the event loop's
        thread (HTTP, auth) and on the SQLite writer thread (the write transactions)."""
        if not args.profile:
            return

        def switch(key: str) -> None:
            if key in profiles:
                profiles[key].disable()
            if name is not None:
                profiles[f"{name}, {key}"] = profiles[key] = cProfile.Profile(timer)
                profiles[key].enable()

        done = threading.Event()
        loop.call_soon_threadsafe(lambda: (switch("event loop"), done.set()))
        done.wait(5)
        writer = app.state.db.writer
        if writer is not None:
            asyncio.run_coroutine_threadsafe(writer.run(switch, "writer thread"), loop).result(5)

    async def issue(n: int, clients: int):
        async def worker(k):
            async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {kiosk}"}) as c:
                for _ in range(k):
                    r = await c.post("/api/v1/sites/demo/tickets",
                                     json={"service": "hotich", "idempotency_key": str(uuid.uuid4())})
                    assert r.status_code == 201, r.text
        await asyncio.gather(*(worker(n // clients) for _ in range(clients)))

    async def calls(rounds: int):
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {official}"}) as c:
            for n in range(1, args.counters + 1):
                assert (await c.post(f"/api/v1/sites/demo/counters/{n}/open")).status_code == 200
            timings = collections.defaultdict(list)
            counter.reset()
            counter.enabled = True
            profile("call cycle")
            for _ in range(rounds):
                for n in range(1, args.counters + 1):
                    t0 = time.perf_counter()
                    r = await c.post(f"/api/v1/sites/demo/counters/{n}/call-next")
                    timings["call-next"].append(time.perf_counter() - t0)
                    assert r.status_code == 200, r.text
                    tid = r.json()["id"]
                    for action in ("start", "finish"):
                        t0 = time.perf_counter()
                        assert (await c.post(f"/api/v1/tickets/{tid}/{action}")).status_code == 200
                        timings[action].append(time.perf_counter() - t0)
            return timings

    asyncio.run(issue(200, 4))  # warm-up: statement cache, pool, token last_used
    reader = getattr(app.state.auth, "_reader", None)
    if reader is not None:  # the token check's kept connection is outside the engine: count it too
        reader.driver_connection.set_trace_callback(
            lambda sql: counter._on_execute(None, None, sql, None, None, False))
    figures: list[tuple[str, float]] = []
    breakdown: dict[str, collections.Counter] = {}

    counter.reset()
    counter.enabled = True
    profile("issue")
    t0 = time.perf_counter()
    asyncio.run(issue(args.tickets, args.clients))
    elapsed = time.perf_counter() - t0
    profile(None)
    counter.enabled = False
    n = args.tickets // args.clients * args.clients
    figures += [("issue: statements per ticket", counter.total / n),
                ("issue: transactions per ticket", counter.transactions / n),
                ("issue: tickets/s (in-process server, unprofiled figures only)", n / elapsed)]
    breakdown["issue (per ticket)"] = collections.Counter({k: v / n for k, v in counter.statements.items()})

    cycles = args.rounds * args.counters
    timings = asyncio.run(calls(args.rounds))
    profile(None)
    counter.enabled = False
    figures += [("call cycle (call-next + start + finish): statements", counter.total / cycles),
                ("call cycle: transactions", counter.transactions / cycles)]
    breakdown["call cycle (per call-next + start + finish)"] = collections.Counter(
        {k: v / cycles for k, v in counter.statements.items()})

    # call-next alone
    asyncio.run(issue(args.counters * 2, 2))
    counter.reset()
    counter.enabled = True

    async def one_round():
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {official}"}) as c:
            for n in range(1, args.counters + 1):
                r = await c.post(f"/api/v1/sites/demo/counters/{n}/call-next")
                assert r.status_code == 200, r.text
    asyncio.run(one_round())
    counter.enabled = False
    figures += [("call-next alone: statements", counter.total / args.counters),
                ("call-next alone: transactions", counter.transactions / args.counters)]
    breakdown["call-next alone (the counter holds no ticket)"] = collections.Counter(
        {k: v / args.counters for k, v in counter.statements.items()})

    server.should_exit = True
    thread.join(10)
    print(f"{args.tickets} tickets by {args.clients} clients, {args.counters} counters × {args.rounds} call cycles; "
          f"sqlite synchronous={args.synchronous}; the floor: 1 statement (INSERT) in 1 transaction per request")
    for name, value in figures:
        print(f"  {name:62s} {value:8.2f}")
    for name, stats in breakdown.items():
        print(f"\n{name}:")
        for statement, count in sorted(stats.items(), key=lambda kv: -kv[1]):
            print(f"  {count:6.2f}  {statement}")
    for name, values in timings.items():
        values.sort()
        print(f"  {name} (one client, sequential) p50 {values[len(values) // 2] * 1000:.2f} ms")
    for name, prof in profiles.items():
        if name in ("event loop", "writer thread"):
            continue
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(f"\n==== profile of the server's event-loop thread: {name} ====")
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--counters", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--synchronous", default="FULL")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--cpu", action="store_true", help="profile CPU time of each thread, not wall time")
    parser.add_argument("--top", type=int, default=60)
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (cumulative, tottime)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
