"""Server benchmark: ticket issue throughput/latency, call-next → MQTT latency, server RSS — each
against its floor measured in the same run.

    .venv/bin/python tests/bench/bench_server.py --runs 3 [--tickets 4000] [--postgres]

Floors: ticket issue against a bare FastAPI endpoint doing one SQLite insert with the same
``synchronous`` setting (``tests/bench/floor_app.py``), driven by the same clients; call → MQTT
against a bare publish → receive through the same Mosquitto on loopback at the same pace (one
publisher for all counters, each "counter" publishing as often as an official calls). Targets:
issue ≥ 0.5× its floor; call → MQTT p99 ≤ floor p99 + 10 ms at 50 counters each calling every ~2 s.
Starts its own Mosquitto and server processes on loopback; prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
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


async def issue_load(base: str, token: str | None, total: int, clients: int,
                     path: str = "/api/v1/sites/demo/tickets") -> tuple[float, list[float]]:
    latencies: list[float] = []
    per = total // clients
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def worker():
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
            for _ in range(per):
                t0 = time.perf_counter()
                r = await c.post(path, json={"service": "hotich", "idempotency_key": str(uuid.uuid4())})
                latencies.append(time.perf_counter() - t0)
                assert r.status_code == 201, r.text

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - start, latencies


async def call_load(base: str, token: str, counters: int, rounds: int, received: dict, pace: float):
    """Each counter calls ``rounds`` times, ``pace`` seconds apart on average (0: back to back)."""
    import random

    latencies: list[float] = []
    http_only: list[float] = []  # the call-next request alone: where the time goes
    headers = {"Authorization": f"Bearer {token}"}

    async def official(n: int, c: httpx.AsyncClient):
        await c.post(f"/api/v1/sites/demo/counters/{n}/open")
        for _ in range(rounds):
            if pace:
                await asyncio.sleep(random.uniform(0, 2 * pace))
            t0 = time.perf_counter()
            r = await c.post(f"/api/v1/sites/demo/counters/{n}/call-next")
            answered = time.perf_counter()
            assert r.status_code == 200, r.text
            number = r.json()["number"]
            deadline = time.perf_counter() + 10
            while number not in received and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
            latencies.append(received[number] - t0)
            http_only.append(answered - t0)
            await c.post(f"/api/v1/tickets/{r.json()['id']}/start")
            await c.post(f"/api/v1/tickets/{r.json()['id']}/finish")

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30,
                                 limits=httpx.Limits(max_connections=counters)) as c:
        await asyncio.gather(*(official(n, c) for n in range(1, counters + 1)))
    return latencies, http_only


async def publish_floor(client, counters: int, rounds: int, received: dict, pace: float) -> list[float]:
    """The bare tool: ``counters`` publishers at the calls' pace, publish → receive on loopback."""
    import json
    import random

    latencies: list[float] = []

    async def counter(n: int):
        for i in range(rounds):
            if pace:
                await asyncio.sleep(random.uniform(0, 2 * pace))
            key = f"F{n}-{i}"
            t0 = time.perf_counter()
            client.publish("motcua/v1/demo/calls", json.dumps({"ticket": key, "counter": str(n)}), qos=1)
            deadline = time.perf_counter() + 10
            while key not in received and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
            latencies.append(received.get(key, deadline) - t0)

    await asyncio.gather(*(counter(n) for n in range(1, counters + 1)))
    return latencies


def start_floor_app(work: Path, synchronous: str) -> tuple[subprocess.Popen, str]:
    from server.broker import free_port

    port = free_port()
    db = work / f"floor-{port}.sqlite3"
    env = {**os.environ, "FLOOR_DB": str(db), "FLOOR_SYNCHRONOUS": synchronous,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.floor_app", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/docs", timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the floor app did not start")


def subscriber(broker, received: dict):
    import json

    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    sub = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{uuid.uuid4().hex[:6]}")
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
    return sub


def one_run(args, work: Path, pg) -> dict[str, float]:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    figures: dict[str, float] = {}
    broker = Mosquitto(work / "broker", users={SERVER_USER: "s", "display-hall": "d"}).start()
    urls = [("sqlite", f"sqlite:///{work / 'bench.sqlite3'}")]
    if pg is not None:
        urls.append(("postgres", pg.create_database(f"bench_{uuid.uuid4().hex[:8]}")))
    try:
        # floors first, on the same machine in the same run
        floor, floor_base = start_floor_app(work, args.synchronous)
        try:
            asyncio.run(issue_load(floor_base, None, 200, args.clients, path="/t"))  # warm-up
            elapsed, lat = asyncio.run(issue_load(floor_base, None, args.tickets, args.clients, path="/t"))
        finally:
            floor.terminate()
            floor.wait(10)
        figures["floor: bare insert endpoint, req/s"] = len(lat) / elapsed
        figures["floor: bare insert endpoint p99 ms"] = pct(lat, 99) * 1000
        received: dict[str, float] = {}
        sub = subscriber(broker, received)
        pub = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}")
        pub.username_pw_set(SERVER_USER, "s")
        pub.connect(broker.host, broker.port)
        pub.loop_start()
        lat = asyncio.run(publish_floor(pub, args.counters, args.rounds, received, args.pace))
        pub.loop_stop()
        figures["floor: bare publish→receive p50 ms"] = pct(lat, 50) * 1000
        figures["floor: bare publish→receive p99 ms"] = pct(lat, 99) * 1000
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
                figures[f"{name}: issue tickets/s"] = len(lat) / elapsed
                figures[f"{name}: issue p99 ms"] = pct(lat, 99) * 1000
                if name == "sqlite":
                    figures["sqlite: issue ÷ floor"] = figures["sqlite: issue tickets/s"] / figures[
                        "floor: bare insert endpoint, req/s"]
                    lat, http_only = asyncio.run(call_load(server.base_url, official, args.counters, args.rounds,
                                                           received, args.pace))
                    figures["sqlite: call→MQTT p50 ms"] = pct(lat, 50) * 1000
                    figures["sqlite: call→MQTT p99 ms"] = pct(lat, 99) * 1000
                    figures["sqlite: call-next HTTP answer alone p99 ms"] = pct(http_only, 99) * 1000
                    figures["sqlite: call→MQTT p99 − floor p99 ms"] = (
                        figures["sqlite: call→MQTT p99 ms"] - figures["floor: bare publish→receive p99 ms"])
                figures[f"{name}: server RSS MB"] = rss_mb(server.process.pid)
            finally:
                server.stop()
        sub.loop_stop()
    finally:
        broker.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tickets", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--counters", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pace", type=float, default=2.0, help="mean seconds between one counter's calls")
    parser.add_argument("--synchronous", default="FULL")
    parser.add_argument("--postgres", action="store_true", help="also run the issue test on PostgreSQL")
    args = parser.parse_args()

    pg = None
    if args.postgres:
        from tests.support.postgres import PostgresServer

        pg = PostgresServer().start()
    runs: list[dict[str, float]] = []
    try:
        for i in range(args.runs):
            work = Path(tempfile.mkdtemp(prefix="motcua-bench-"))
            figures = one_run(args, work, pg)
            runs.append(figures)
            print(f"run {i + 1}: " + "; ".join(f"{k} {v:.2f}" for k, v in figures.items()), flush=True)
    finally:
        if pg is not None:
            pg.stop()
    print(f"\n{args.tickets} tickets by {args.clients} clients; {args.counters} counters × {args.rounds} calls, "
          f"each every ~{args.pace:g} s; sqlite synchronous={args.synchronous}. min / median / max of {len(runs)} runs:")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:42s} {min(values):9.2f} {statistics.median(values):9.2f} {max(values):9.2f}")


if __name__ == "__main__":
    main()
