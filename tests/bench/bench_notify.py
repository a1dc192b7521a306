""""Your turn is near" by SMS: notices per minute through the modem adapter, and the time from the
call that makes a ticket n-th to its SMS handed to the modem. Each against its floor, measured in
the same run; 3 runs, min/median/max.

* Throughput: ``SerialModem.send_sms`` on a pseudo-terminal whose far end is the AT simulator
  (``tests/support/pty_modem.py``; a real dongle adds the network's seconds). Floor: the same
  dialogue written by hand with pyserial (write the command, wait for ``> ``, write the text and
  Ctrl-Z, wait for ``OK``) — the bare write and read, no parsing, no checks.
* Latency: a real server process (SQLite, ``MOTCUA_NOTIFY_MODEM`` = that pty); ``call-next`` that
  makes a subscribed ticket 1st-in-line → the Ctrl-Z arriving at the pty. Floor: the call-next round
  trip alone (measured on the same server, a counter whose calls make nobody near) plus one bare
  adapter ``send_sms``.

Run: ``.venv/bin/python tests/bench/bench_notify.py [--messages 300] [--calls 30] [--runs 3]``.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402
import serial  # noqa: E402

from devices.modem import open_modem  # noqa: E402
from server.storage.catalog import demo_site_file  # noqa: E402
from tests.support.processes import ServerProcess  # noqa: E402
from tests.support.pty_modem import PtyModem  # noqa: E402

TEXT = "So A023: sap den luot. Con 3 nguoi truoc ban. Xin moi quay lai. Xem: http://192.168.1.10:8000/t/AbCdEfGhIjKlMnOpQrStUv"


def adapter_per_minute(messages: int) -> float:
    with PtyModem() as far, open_modem(far.url) as modem:
        modem.send_sms("+84912345678", TEXT)
        start = time.perf_counter()
        for _ in range(messages):
            modem.send_sms("+84912345678", TEXT)
        return messages / (time.perf_counter() - start) * 60


def _until(port: serial.Serial, marker: bytes) -> None:
    got = b""
    while marker not in got:
        got += port.read(port.in_waiting or 1)


def bare_per_minute(messages: int) -> float:
    with PtyModem() as far:
        port = serial.Serial(far.path, 115200, timeout=2)
        try:
            port.write(b"ATE0\r")
            _until(port, b"OK\r\n")
            port.write(b"AT+CMGF=1\r")
            _until(port, b"OK\r\n")
            start = time.perf_counter()
            for _ in range(messages):
                port.write(b'AT+CMGS="+84912345678"\r')
                _until(port, b"> ")
                port.write(TEXT.encode() + b"\x1a")
                _until(port, b"OK\r\n")
            return messages / (time.perf_counter() - start) * 60
        finally:
            port.close()


def bare_send_s(samples: int) -> float:
    with PtyModem() as far, open_modem(far.url) as modem:
        modem.send_sms("+84912345678", TEXT)
        times = []
        for _ in range(samples):
            start = time.perf_counter()
            modem.send_sms("+84912345678", TEXT)
            times.append(time.perf_counter() - start)
        return statistics.median(times)


def call_to_sms(calls: int, workdir: Path) -> tuple[float, float]:
    """(median call → Ctrl-Z at the modem, median call-next round trip with no notice due), seconds."""
    with PtyModem() as far:
        server = ServerProcess(f"sqlite:///{workdir / 'bench.sqlite3'}", workdir=workdir, extra_env={
            "MOTCUA_NOTIFY_MODEM": far.url, "MOTCUA_NOTIFY_AHEAD": "1", "MOTCUA_NOTIFY_PER_MINUTE": "600",
            "MOTCUA_SQLITE_SYNCHRONOUS": "NORMAL"})
        server.cli("db", "upgrade")
        server.cli("site", "load", str(demo_site_file()))
        server.cli("user", "add", "canbo1", "--role", "official", "--site", "demo", "--password", "bench-password")
        kiosk = server.cli("device-token", "--role", "kiosk", "--name", "kiosk-1")
        server.start()
        try:
            official = httpx.Client(base_url=server.base_url, timeout=30, headers={
                "Authorization": f"Bearer {server.login('canbo1', 'bench-password')}"})
            issuer = httpx.Client(base_url=server.base_url, timeout=30, headers={"Authorization": f"Bearer {kiosk}"})

            def issue(service, key):
                return issuer.post("/api/v1/sites/demo/tickets", json={"service": service, "idempotency_key": key}).json()

            hotich = [issue("hotich", f"bench-notify-a-{i:05d}") for i in range(calls + 2)]
            cutru = [issue("cutru", f"bench-notify-c-{i:05d}") for i in range(calls + 1)]  # nobody subscribed
            for i, ticket in enumerate(hotich[2:]):
                r = httpx.post(f"{server.base_url}/api/v1/track/{ticket['token']}/phone",
                               json={"phone": f"0912{i:06d}"}, timeout=30)
                r.raise_for_status()
            assert len(cutru) == calls + 1
            official.post("/api/v1/sites/demo/counters/1/open")
            official.post("/api/v1/sites/demo/counters/3/open")
            latencies, plain = [], []
            for _ in range(calls):
                seen = len(far.handoffs)
                start = time.perf_counter()
                called = official.post("/api/v1/sites/demo/counters/1/call-next").json()
                while len(far.handoffs) == seen:
                    time.sleep(0.0005)
                latencies.append(far.handoffs[seen] - start)
                official.post(f"/api/v1/tickets/{called['id']}/start")
                start = time.perf_counter()
                other = official.post("/api/v1/sites/demo/counters/3/call-next").json()
                plain.append(time.perf_counter() - start)
                official.post(f"/api/v1/tickets/{other['id']}/start")
            return statistics.median(latencies), statistics.median(plain)
        finally:
            server.stop()


def spread(values: list[float], fmt: str) -> str:
    return "min " + fmt.format(min(values)) + "  median " + fmt.format(statistics.median(values)) + \
        "  max " + fmt.format(max(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = {k: [] for k in ("adapter", "bare", "ratio_tp", "latency", "call", "send", "floor", "ratio_lat")}
    for run in range(args.runs):
        adapter, bare = adapter_per_minute(args.messages), bare_per_minute(args.messages)
        with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
            latency, call = call_to_sms(args.calls, Path(tmp))
        send = bare_send_s(args.calls)
        floor = call + send
        for key, value in (("adapter", adapter), ("bare", bare), ("ratio_tp", bare / adapter), ("latency", latency),
                           ("call", call), ("send", send), ("floor", floor), ("ratio_lat", latency / floor)):
            runs[key].append(value)
        print(f"run {run + 1}: adapter {adapter:,.0f}/min (bare dialogue {bare:,.0f}/min, x{bare / adapter:.2f}); "
              f"call→SMS handed {latency * 1000:.1f} ms (floor {floor * 1000:.1f} ms = call {call * 1000:.1f} + "
              f"bare send {send * 1000:.1f}; x{latency / floor:.2f})", flush=True)
    print(f"\nSMS notices per minute through the adapter (pty + AT simulator), {args.runs} runs of {args.messages}:")
    print(f"  adapter   {spread(runs['adapter'], '{:,.0f}')}")
    print(f"  floor     {spread(runs['bare'], '{:,.0f}')}   (bare pyserial dialogue)")
    print(f"  ratio     {spread(runs['ratio_tp'], 'x{:.2f}')}   (floor / adapter)")
    print(f"call that makes a ticket n-th → SMS handed to the modem, median of {args.calls} calls per run:")
    print(f"  latency   {spread([v * 1000 for v in runs['latency']], '{:.1f} ms')}")
    print(f"  floor     {spread([v * 1000 for v in runs['floor']], '{:.1f} ms')}   (call-next alone + bare adapter send)")
    print(f"  ratio     {spread(runs['ratio_lat'], 'x{:.2f}')}   (latency / floor)")


if __name__ == "__main__":
    main()
