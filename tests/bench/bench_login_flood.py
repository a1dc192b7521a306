"""Login flood benchmark: kiosk ticket issue p50/p99 and server RSS, without a flood (the floor)
and then while 32 clients send bogus logins as fast as they are answered, in one run.

    .venv/bin/python tests/bench/bench_login_flood.py [--tickets 300] [--attackers 32] [--runs 1]

Starts its own server process (SQLite, real argon2 cost) on loopback. The flood comes from a
child process (its own event loop, so it does not slow the kiosk's measuring client), each login a
new account name and, through ``MOTCUA_TRUSTED_PROXIES=127.0.0.1``, a new client address, so no
lock-out or per-address throttle helps: only the bound on concurrent password hashing does.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
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

from server.storage.catalog import demo_site_file  # noqa: E402
from tests.support.processes import ServerProcess  # noqa: E402


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def kiosk_phase(base: str, token: str, tickets: int, pid: int) -> dict:
    """Issue ``tickets`` one after another (a busy kiosk); sample the server's RSS meanwhile."""
    latencies, peak, done = [], [rss_mb(pid)], threading.Event()

    def sample():
        while not done.is_set():
            peak.append(rss_mb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        for _ in range(tickets):
            t0 = time.perf_counter()
            r = c.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": uuid.uuid4().hex})
            latencies.append(time.perf_counter() - t0)
            if r.status_code != 201:
                raise SystemExit(f"ticket issue failed: {r.status_code} {r.text}")
    done.set()
    sampler.join()
    return {"p50_ms": pct(latencies, 50) * 1000, "p99_ms": pct(latencies, 99) * 1000, "rss_mb": max(peak)}


async def flood(base: str, attackers: int, out: Path) -> None:
    """Child process: ``attackers`` clients sending bogus logins until stdin closes."""
    counts: dict[int, int] = {}
    stop = asyncio.Event()

    async def attacker(i: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    r = await c.post("/api/v1/auth/token", data={"username": f"x{i}-{n}-{uuid.uuid4().hex[:6]}",
                                                                "password": "wrong-password"},
                                     headers={"X-Forwarded-For": f"10.{i}.{n // 250 % 250}.{n % 250 + 1}"})
                    counts[r.status_code] = counts.get(r.status_code, 0) + 1
                except httpx.HTTPError:
                    counts[0] = counts.get(0, 0) + 1

    async def wait_stdin() -> None:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        stop.set()

    await asyncio.gather(wait_stdin(), *(attacker(i) for i in range(attackers)))
    out.write_text(" ".join(f"{k}:{v}" for k, v in sorted(counts.items())))


def one_run(args, workdir: Path) -> dict:
    server = ServerProcess(f"sqlite:///{workdir / 'bench.sqlite3'}", workdir=workdir,
                           extra_env={"MOTCUA_TRUSTED_PROXIES": "127.0.0.1"})
    server.cli("db", "upgrade")
    server.cli("site", "load", str(demo_site_file()))
    server.cli("user", "add", "canbo1", "--role", "official", "--site", "demo", "--password", "canbo1-password")
    token = server.cli("token", "issue", "--role", "kiosk", "--name", "kiosk-1")
    server.start()
    try:
        pid = server.process.pid
        server.login("canbo1", "canbo1-password")  # one real hash first: the hasher's memory is counted in the floor
        kiosk_phase(server.base_url, token, 30, pid)  # warm-up
        quiet = kiosk_phase(server.base_url, token, args.tickets, pid)
        counts_file = workdir / "flood-counts.txt"
        child = subprocess.Popen([sys.executable, __file__, "--flood-child", server.base_url,
                                  "--attackers", str(args.attackers), "--counts", str(counts_file)],
                                 stdin=subprocess.PIPE)
        time.sleep(1.0)  # let the flood build up
        t0 = time.perf_counter()
        loud = kiosk_phase(server.base_url, token, args.tickets, pid)
        seconds = time.perf_counter() - t0
        child.stdin.close()
        child.wait(timeout=120)
        counts = dict(kv.split(":") for kv in counts_file.read_text().split())
        answered = sum(int(v) for k, v in counts.items() if k != "0")
        return {"quiet": quiet, "flood": loud, "logins": counts, "logins_per_s": answered / (seconds + 1.0)}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--attackers", type=int, default=32)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--flood-child", metavar="URL")
    parser.add_argument("--counts", type=Path)
    args = parser.parse_args()
    if args.flood_child:
        asyncio.run(flood(args.flood_child, args.attackers, args.counts))
        return

    results = []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="motcua-bench-login-") as tmp:
            r = one_run(args, Path(tmp))
        results.append(r)
        q, f = r["quiet"], r["flood"]
        print(f"run {run}: kiosk issue, no flood (floor): p50 {q['p50_ms']:.1f} ms  p99 {q['p99_ms']:.1f} ms  "
              f"server RSS {q['rss_mb']:.0f} MB")
        print(f"run {run}: kiosk issue, {args.attackers} bogus-login clients: p50 {f['p50_ms']:.1f} ms  "
              f"p99 {f['p99_ms']:.1f} ms  server RSS {f['rss_mb']:.0f} MB")
        print(f"run {run}: ratio flood/floor: p50 ×{f['p50_ms'] / q['p50_ms']:.2f}  p99 ×{f['p99_ms'] / q['p99_ms']:.2f}  "
              f"RSS ×{f['rss_mb'] / q['rss_mb']:.2f} (+{f['rss_mb'] - q['rss_mb']:.0f} MB); "
              f"logins answered {r['logins']} (~{r['logins_per_s']:.0f}/s)", flush=True)
    if len(results) > 1:
        def summary(name, values, unit):
            print(f"{name}: min {min(values):.2f}{unit}  median {statistics.median(values):.2f}{unit}  "
                  f"max {max(values):.2f}{unit}")

        summary("floor p99", [r["quiet"]["p99_ms"] for r in results], " ms")
        summary("flood p99", [r["flood"]["p99_ms"] for r in results], " ms")
        summary("p99 ratio", [r["flood"]["p99_ms"] / r["quiet"]["p99_ms"] for r in results], "")
        summary("floor p50", [r["quiet"]["p50_ms"] for r in results], " ms")
        summary("flood p50", [r["flood"]["p50_ms"] for r in results], " ms")
        summary("floor RSS", [r["quiet"]["rss_mb"] for r in results], " MB")
        summary("flood RSS", [r["flood"]["rss_mb"] for r in results], " MB")
        summary("RSS ratio", [r["flood"]["rss_mb"] / r["quiet"]["rss_mb"] for r in results], "")


if __name__ == "__main__":
    main()
