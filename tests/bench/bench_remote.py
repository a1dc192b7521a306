"""Remote join benchmark: 50 phones joining at once against a real server, against its floor.

    .venv/bin/python tests/bench/bench_remote.py --runs 3 [--phones 50] [--joins 20] [--postgres]

Each "phone" is its own HTTP client (its own connection) posting remote joins back to back, all
phones at once: p50/p99 latency and joins per second. SMS is on (``sim://`` modem), so every
join also keeps the phone for "turn is near", as at a real centre; phones are taken as typed
(``MOTCUA_REMOTE_VERIFY_PHONE=false``: the one-time code is a separate, earlier request).

Floor, in the same run: the same number of clients posting the same body to a bare FastAPI
endpoint doing one SQLite insert on the same stack (uvicorn, one process, WAL, the same
``synchronous``; ``tests/bench/floor_app.py``). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402

from tests.bench.bench_server import pct, start_floor_app  # noqa: E402
from tests.support.processes import ServerProcess  # noqa: E402

SITE = """[site]
id = "demo"
name = "Bench centre"
[site.settings.remote]
per_phone_per_day = 20
[site.settings.remote.services.hotich]
capacity = 10000
walk_in_share = 50
[[services]]
id = "hotich"
prefix = "A"
name_vi = "Hộ tịch"
procedures = ["1.001193"]
[[counters]]
id = "1"
label = "Quầy 1"
services = ["hotich"]
"""


async def load(base: str, path: str, phones: int, joins: int, offset: int) -> tuple[float, list[float]]:
    latencies: list[float] = []

    async def phone(n: int):
        number = f"09{offset + n:08d}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            for _ in range(joins):
                body = {"service": "hotich", "phone": number, "idempotency_key": f"r-{uuid.uuid4()}"}
                t0 = time.perf_counter()
                r = await c.post(path, json=body if "remote" in path else {
                    "service": "hotich", "idempotency_key": body["idempotency_key"]})
                latencies.append(time.perf_counter() - t0)
                assert r.status_code == 201, r.text

    start = time.perf_counter()
    await asyncio.gather(*(phone(n) for n in range(phones)))
    return time.perf_counter() - start, latencies


def one_run(args, work: Path, pg) -> dict[str, float]:
    figures: dict[str, float] = {}
    floor, floor_base = start_floor_app(work, args.synchronous)
    try:
        asyncio.run(load(floor_base, "/t", args.phones, 2, 0))  # warm-up
        elapsed, lat = asyncio.run(load(floor_base, "/t", args.phones, args.joins, 0))
    finally:
        floor.terminate()
        floor.wait(10)
    figures["floor: bare insert p50 ms"] = pct(lat, 50) * 1000
    figures["floor: bare insert p99 ms"] = pct(lat, 99) * 1000
    figures["floor: bare insert req/s"] = len(lat) / elapsed
    urls = [("sqlite", f"sqlite:///{work / 'bench.sqlite3'}")]
    if pg is not None:
        urls.append(("postgres", pg.create_database(f"bench_{uuid.uuid4().hex[:8]}")))
    (work / "site.toml").write_text(SITE, encoding="utf-8")
    for name, url in urls:
        server = ServerProcess(url, workdir=work, extra_env={
            "MOTCUA_SQLITE_SYNCHRONOUS": args.synchronous, "MOTCUA_NOTIFY_MODEM": "sim://",
            "MOTCUA_REMOTE_VERIFY_PHONE": "false", "MOTCUA_REMOTE_JOINS_PER_MINUTE": "100000"})
        server.cli("db", "upgrade")
        server.cli("site", "load", str(work / "site.toml"))
        server.start()
        try:
            path = "/api/v1/sites/demo/remote-tickets"
            asyncio.run(load(server.base_url, path, args.phones, 1, 500_000))  # warm-up: other phones
            elapsed, lat = asyncio.run(load(server.base_url, path, args.phones, args.joins, 0))
        finally:
            server.stop()
        figures[f"{name}: remote join p50 ms"] = pct(lat, 50) * 1000
        figures[f"{name}: remote join p99 ms"] = pct(lat, 99) * 1000
        figures[f"{name}: remote joins/s"] = len(lat) / elapsed
        figures[f"{name}: join p99 ÷ floor p99"] = figures[f"{name}: remote join p99 ms"] / figures[
            "floor: bare insert p99 ms"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--joins", type=int, default=20, help="joins per phone (the site allows 20 a day)")
    parser.add_argument("--synchronous", default="FULL")
    parser.add_argument("--postgres", action="store_true", help="also run against PostgreSQL")
    args = parser.parse_args()
    pg = None
    if args.postgres:
        from tests.support.postgres import PostgresServer

        pg = PostgresServer().start()
    runs: list[dict[str, float]] = []
    try:
        for i in range(args.runs):
            work = Path(tempfile.mkdtemp(prefix="motcua-bench-remote-"))
            figures = one_run(args, work, pg)
            runs.append(figures)
            print(f"run {i + 1}: " + "; ".join(f"{k} {v:.2f}" for k, v in figures.items()), flush=True)
    finally:
        if pg is not None:
            pg.stop()
    print(f"\n{args.phones} phones at once × {args.joins} joins each; sqlite synchronous={args.synchronous}. "
          f"min / median / max of {len(runs)} runs:")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:36s} {min(values):9.2f} {statistics.median(values):9.2f} {max(values):9.2f}")


if __name__ == "__main__":
    main()
