"""Server benchmark: ticket issue throughput/latency, call-next → MQTT latency, server RSS.

    .venv/bin/python tests/bench/bench_server.py [--tickets 4000] [--postgres]

Starts its own Mosquitto and server process on loopback; prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402

from server.broker import SERVER_USER, Mosquitto  # noqa: E402
from tests.support.processes import ServerProcess  # noqa: E402


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def site_file(path: Path, counters: int) -> Path:
    text = ['[site]\nid = "demo"\nname = "Bench centre"\n',
            '[[services]]\nid = "hotich"\nprefix = "A"\nname_vi = "Hộ tịch"\nprocedures = ["1.001193"]\n']
    for n in range(1, counters + 1):
        text.append(f'[[counters]]\nid = "{n}"\nlabel = "Quầy {n}"\nservices = ["hotich"]\n')
    path.write_text("\n".join(text), encoding="utf-8")
    return path


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def issue_load(base: str, token: str, total: int, clients: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    per = total // clients

    async def worker():
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            for _ in range(per):
                t0 = time.perf_counter()
                r = await c.post("/api/v1/sites/demo/tickets",
                                 json={"service": "hotich", "idempotency_key": str(uuid.uuid4())})
                latencies.append(time.perf_counter() - t0)
                assert r.status_code == 201, r.text

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - start, latencies


async def call_load(base: str, token: str, counters: int, rounds: int, received: dict, pace: float):
    """Each counter calls ``rounds`` times, ``pace`` seconds apart on average (0: back to back)."""
    import random

    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}

    async def official(n: int, c: httpx.AsyncClient):
        await c.post(f"/api/v1/sites/demo/counters/{n}/open")
        for _ in range(rounds):
            if pace:
                await asyncio.sleep(random.uniform(0, 2 * pace))
            t0 = time.perf_counter()
            r = await c.post(f"/api/v1/sites/demo/counters/{n}/call-next")
            assert r.status_code == 200, r.text
            number = r.json()["number"]
            deadline = time.perf_counter() + 10
            while number not in received and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
            latencies.append(received[number] - t0)
            await c.post(f"/api/v1/tickets/{r.json()['id']}/start")
            await c.post(f"/api/v1/tickets/{r.json()['id']}/finish")

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30,
                                 limits=httpx.Limits(max_connections=counters)) as c:
        await asyncio.gather(*(official(n, c) for n in range(1, counters + 1)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--counters", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pace", type=float, default=2.0, help="mean seconds between one counter's calls")
    parser.add_argument("--synchronous", default="FULL")
    parser.add_argument("--postgres", action="store_true", help="also run the issue test on PostgreSQL")
    args = parser.parse_args()

    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion
    import json

    work = Path(tempfile.mkdtemp(prefix="motcua-bench-"))
    broker = Mosquitto(work / "broker", users={SERVER_USER: "s", "display-hall": "d"}).start()
    urls = [("sqlite", f"sqlite:///{work / 'bench.sqlite3'}")]
    pg = None
    if args.postgres:
        from tests.support.postgres import PostgresServer

        pg = PostgresServer().start()
        urls.append(("postgres", pg.create_database("bench")))
    try:
        for name, url in urls:
            server = ServerProcess(url, mqtt_url=broker.url(SERVER_USER), workdir=work,
                                   extra_env={"MOTCUA_SQLITE_SYNCHRONOUS": args.synchronous})
            server.cli("db", "upgrade")
            server.cli("site", "load", str(site_file(work / "site.toml", args.counters)))
            # tickets for the call test come from the issue test: it issues more than the calls need
            assert args.tickets >= 2 * args.counters * args.rounds
            server.cli("user", "add", "bench", "--role", "official", "--password", "bench-password")
            kiosk = server.cli("device-token", "--role", "kiosk", "--name", "kiosk-bench")
            server.start()
            try:
                official = server.login("bench", "bench-password")
                elapsed, lat = asyncio.run(issue_load(server.base_url, kiosk, args.tickets, args.clients))
                print(f"[{name}] issue: {len(lat)} tickets, {args.clients} clients: {len(lat) / elapsed:.0f} tickets/s, "
                      f"p50 {pct(lat, 50) * 1000:.1f} ms, p99 {pct(lat, 99) * 1000:.1f} ms"
                      + (f" (sqlite synchronous={args.synchronous})" if name == "sqlite" else ""))
                if name == "sqlite":
                    received: dict[str, float] = {}
                    sub = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-sub")
                    sub.username_pw_set("display-hall", "d")
                    ready = threading.Event()
                    sub.on_connect = lambda c, u, f, rc, p: c.subscribe("motcua/v1/demo/calls", qos=1)
                    sub.on_subscribe = lambda *a: ready.set()

                    def on_message(c, u, msg):
                        received[json.loads(msg.payload)["ticket"]] = time.perf_counter()

                    sub.on_message = on_message
                    sub.connect(broker.host, broker.port)
                    sub.loop_start()
                    ready.wait(10)
                    for pace in (args.pace, 0.0):
                        lat = asyncio.run(call_load(server.base_url, official, args.counters, args.rounds, received, pace))
                        mode = f"each calling every ~{pace:g} s" if pace else "all calling back to back (saturation)"
                        print(f"[{name}] call-next -> MQTT call received: {len(lat)} calls, {args.counters} counters "
                              f"{mode}: p50 {pct(lat, 50) * 1000:.1f} ms, p99 {pct(lat, 99) * 1000:.1f} ms, "
                              f"mean {statistics.mean(lat) * 1000:.1f} ms")
                    sub.loop_stop()
                print(f"[{name}] server RSS: {rss_mb(server.process.pid):.0f} MB")
            finally:
                server.stop()
    finally:
        broker.stop()
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
