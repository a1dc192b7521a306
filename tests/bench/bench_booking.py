"""Booking page under 50 concurrent citizens: latency p50 / p99 and pages per second, against a floor.

    .venv/bin/python tests/bench/bench_booking.py --runs 3 [--users 50] [--requests 10] [--think 2]

The real ``motcua server`` process (SQLite, the demo site, three services with a plan of eight
slots a day, fourteen days ahead, some places already taken) serves ``GET /hen/demo``: the
catalogue read (plans, slot counts, the working calendar) and the Jinja page. Each user is its own
HTTP client with its own address (``X-Forwarded-For`` through a trusted proxy, so the per-client
limit applies to each as it would). Two loads: 50 people each opening the page ``--requests``
times with ``--think`` seconds between (a person looking at it: latency p50 / p99), then the same
50 asking back to back (saturation: pages per second; its latency is queueing, users ÷ rate).

Floor: ``tests/bench/floor_app.py``'s ``GET /page``, a bare FastAPI endpoint on the same stack
(uvicorn, one process) answering a fixed page of the same size, driven by the same clients in the
same run. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402

from tests.bench.bench_server import pct, start_floor_app  # noqa: E402
from tests.support.processes import ServerProcess  # noqa: E402

SERVICES = ("hotich", "chungthuc", "cutru")
SLOTS = [{"start": f"{h:02d}:{m:02d}", "end": f"{h + (m + 45) // 60:02d}:{(m + 45) % 60:02d}", "capacity": 6}
         for h, m in ((7, 30), (8, 30), (9, 30), (10, 30), (13, 30), (14, 30), (15, 30), (16, 15))]


def prepare(work: Path) -> str:
    from server.domain.calendar import WorkingCalendar
    from server.storage import catalog, migrate
    from server.storage.appointment_store import AppointmentStore
    from server.storage.db import Database
    from server.storage.tables import appointment_slot_counts

    url = f"sqlite:///{work / 'site.sqlite3'}"
    db = Database(url).open()
    try:
        migrate.upgrade(db)
        catalog.load_site(db, catalog.demo_site_file())
        store = AppointmentStore(db, None, None, secret=b"bench", id_key=b"bench", public_url="http://x")
        for svc in SERVICES:
            store.set_plan("demo", svc, {"slots": SLOTS, "days_ahead": 14})
        cal, day = WorkingCalendar(), date.today()
        with db.write() as conn:  # some places already taken, as on a real morning
            for k in range(15):
                d = day + timedelta(days=k)
                if cal.is_working_day(d):
                    for svc in SERVICES:
                        for s in SLOTS[::2]:
                            conn.execute(appointment_slot_counts.insert().values(
                                site="demo", service=svc, day=d, start=s["start"], booked=3))
    finally:
        db.close()
    return url


async def load(base: str, path: str, users: int, requests: int, think: float = 0.0) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    sizes: list[int] = []
    # Clients first (building one loads certificates: tens of milliseconds that would otherwise
    # block the loop while other users' answers wait), then everybody starts together.
    clients = [httpx.AsyncClient(base_url=base, timeout=60,
                                 headers={"X-Forwarded-For": f"10.{n // 250}.{n % 250}.{7 + n % 200}"})
               for n in range(users)]

    async def user(c: httpx.AsyncClient):
        for _ in range(requests):
            t0 = time.perf_counter()
            r = await c.get(path)
            latencies.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise SystemExit(f"{path}: {r.status_code} {r.text[:200]}")
            sizes.append(len(r.content))
            if think:
                await asyncio.sleep(think * (0.5 + random.random()))  # 0.5–1.5 × think, so users drift apart

    try:
        start = time.perf_counter()
        await asyncio.gather(*(user(c) for c in clients))
        took = time.perf_counter() - start
    finally:
        for c in clients:
            await c.aclose()
    return took, latencies, int(statistics.median(sizes))


def one_run(args) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="motcua-bench-booking-"))
    try:
        return measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(args, work: Path) -> dict[str, float]:
    import os

    url = prepare(work)
    server = ServerProcess(url, workdir=work, extra_env={"MOTCUA_TRUSTED_PROXIES": "127.0.0.1/32"}).start()
    try:
        page = httpx.get(server.base_url + "/hen/demo", timeout=30)
        assert page.status_code == 200 and "Đặt lịch hẹn" in page.text, page.text[:300]
        asyncio.run(load(server.base_url, "/hen/demo", 5, 4))  # warm up
        _, lat, size = asyncio.run(load(server.base_url, "/hen/demo", args.users, args.requests, args.think))
        took, sat, _ = asyncio.run(load(server.base_url, "/hen/demo", args.users, args.requests))
    finally:
        server.stop()
    os.environ["FLOOR_PAGE_BYTES"] = str(size)
    floor, base = start_floor_app(work, "FULL")
    try:
        asyncio.run(load(base, "/page", 5, 4))
        _, f_lat, _ = asyncio.run(load(base, "/page", args.users, args.requests, args.think))
        f_took, f_sat, _ = asyncio.run(load(base, "/page", args.users, args.requests))
    finally:
        floor.kill()
        floor.wait()
    rate, f_rate = len(sat) / took, len(f_sat) / f_took
    return {
        "page bytes": size,
        "booking page p50 ms": pct(lat, 50) * 1000, "booking page p99 ms": pct(lat, 99) * 1000,
        "floor p50 ms": pct(f_lat, 50) * 1000, "floor p99 ms": pct(f_lat, 99) * 1000,
        "p99 / floor p99": pct(lat, 99) / pct(f_lat, 99),
        "saturated pages/s": rate, "floor saturated pages/s": f_rate, "pages/s / floor": rate / f_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--requests", type=int, default=10, help="pages each user asks for")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds a user looks at the page")
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        figures = one_run(args)
        runs.append(figures)
        print(f"run {i + 1}: " + "; ".join(f"{k} {v:.2f}" for k, v in figures.items()), flush=True)
    print(f"\n{args.users} concurrent users × {args.requests} pages each, ~{args.think:g} s apart, then back to back "
          f"(GET /hen/demo, 3 services × 8 slots × 14 days); floor: a bare FastAPI page of the same size. "
          f"min / median / max of {len(runs)} runs:")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:24s} {min(values):9.2f} {statistics.median(values):9.2f} {max(values):9.2f}")


if __name__ == "__main__":
    main()
