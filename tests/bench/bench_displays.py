"""Display benchmark: an official's call over HTTP → the hall display's view-model updated.

    .venv/bin/python tests/bench/bench_displays.py [--counters 20] [--rounds 10] [--pace 2]

Starts its own Mosquitto (motcua's config and ACL) and a server process on loopback with a
20-counter site; a :class:`counter.boards.HallBoard` fed by :class:`counter.feed.BoardFeed`
(user display-hall) is timed from just before the POST until the board holds the call
(listener fired, state readable). Then the voice: text → playable audio per call (espeak-ng
cold, and from the clip cache). Prints figures; asserts nothing. Target: p99 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402

from counter.boards import HallBoard  # noqa: E402
from counter.feed import BoardFeed  # noqa: E402
from server.broker import SERVER_USER, Mosquitto  # noqa: E402
from tests.support.processes import ServerProcess  # noqa: E402

SERVICES = (("hotich", "A", "Hộ tịch"), ("chungthuc", "B", "Chứng thực"), ("cutru", "C", "Cư trú"),
            ("xahoi", "D", "Chính sách xã hội"))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def site_file(path: Path, counters: int) -> Path:
    text = ['[site]\nid = "demo"\nname = "Trung tâm thử tải"\ntimezone = "Asia/Ho_Chi_Minh"\n']
    for sid, prefix, name in SERVICES:
        text.append(f'[[services]]\nid = "{sid}"\nprefix = "{prefix}"\nname_vi = "{name}"\nprocedures = []\n')
    for n in range(1, counters + 1):
        first = SERVICES[n % len(SERVICES)][0]
        text.append(f'[[counters]]\nid = "{n}"\nlabel = "Quầy {n}"\nservices = ["{first}", "hotich"]\n')
    path.write_text("\n".join(text), encoding="utf-8")
    return path


class Timer:
    """Board listener: when the newest call is one we are waiting for, stamp it."""

    def __init__(self, board: HallBoard) -> None:
        self.board = board
        self.waiting: dict[str, tuple[float, threading.Event]] = {}
        self.latency: dict[str, float] = {}
        self.stamp: dict[str, float] = {}  # counter → when its last call reached the board
        self.lock = threading.Lock()
        board.listen(self.changed)

    def expect(self, counter: str) -> threading.Event:
        done = threading.Event()
        with self.lock:
            self.waiting[counter] = (time.perf_counter(), done)
        return done

    def changed(self) -> None:
        now = time.perf_counter()
        for call in list(self.board.calls[:4]):
            with self.lock:
                entry = self.waiting.get(call.counter)
                if entry and self.board.counters[call.counter].ticket == call.ticket:
                    key = f"{call.counter}:{call.seq}"
                    if key not in self.latency:
                        self.latency[key] = now - entry[0]
                        self.stamp[call.counter] = now
                        del self.waiting[call.counter]
                        entry[1].set()


def run_calls(base: str, token: str, counters: int, rounds: int, pace: float, timer: Timer) -> tuple[list, list, list]:
    http_ms: list[float] = []
    after_answer: list[float] = []  # HTTP answer → board: broker, MQTT client and view-model only
    errors: list[str] = []
    start = threading.Barrier(counters)

    def official(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            c.post(f"/api/v1/sites/demo/counters/{n}/open").raise_for_status()
            start.wait()
            for _ in range(rounds):
                if pace:
                    time.sleep(rng.uniform(0, 2 * pace))
                done = timer.expect(str(n))
                t0 = time.perf_counter()
                r = c.post(f"/api/v1/sites/demo/counters/{n}/call-next")
                t1 = time.perf_counter()
                http_ms.append(t1 - t0)
                if r.status_code != 200:
                    errors.append(r.text)
                    continue
                if not done.wait(30):
                    errors.append(f"counter {n}: call {r.json()['number']} never reached the board")
                else:
                    after_answer.append(max(0.0, timer.stamp[str(n)] - t1))
                c.post(f"/api/v1/tickets/{r.json()['id']}/start").raise_for_status()

    threads = [threading.Thread(target=official, args=(n,)) for n in range(1, counters + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return http_ms, after_answer, errors


def bench_board(n: int = 5000) -> None:
    """The view-model's own share: one ``calls`` message handled (parse, dedupe, update, notify)."""
    from devices.mqtt import envelope

    board = HallBoard("demo", max_calls=8)
    board.listen(lambda: None)
    topic = board.topics.calls
    payloads = [envelope({"seq": i, "ticket": f"A{i % 1000:03d}", "counter": str(i % 20 + 1),
                          "label": f"Quầy {i % 20 + 1}", "service": "hotich", "recall": False}).encode()
                for i in range(1, n + 1)]
    t0 = time.perf_counter()
    for payload in payloads:
        board.handle(topic, payload, False)
    per = (time.perf_counter() - t0) / n * 1e6
    print(f"hall view-model handle() of one call message: {per:.1f} µs (mean of {n})")


def bench_voice(calls: int) -> None:
    from counter.voice import Announcer, SimPlayer, VoiceConfig, announcement_text

    announcer = Announcer(VoiceConfig(), player=SimPlayer())
    announcer.synth.check()
    texts = [announcement_text(f"{'ABCD'[i % 4]}{i * 7 + 3:03d}", str(i % 20 + 1), i % 5 == 4) for i in range(calls)]
    cold, warm = [], []
    for text in texts:
        t0 = time.perf_counter()
        announcer.clip(text)
        cold.append(time.perf_counter() - t0)
    for text in texts:
        t0 = time.perf_counter()
        announcer.clip(text)
        warm.append(time.perf_counter() - t0)
    for name, values in (("espeak-ng (cold)", cold), ("clip cache (warm)", warm)):
        ms = [v * 1000 for v in values]
        print(f"voice text → audio, {name}: n={len(ms)} p50 {pct(ms, 50):.2f} ms, p99 {pct(ms, 99):.2f} ms, "
              f"max {max(ms):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counters", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--pace", type=float, default=2.0, help="mean seconds between one counter's calls")
    parser.add_argument("--voice-calls", type=int, default=20)
    parser.add_argument("--nagle", action="store_true",
                        help="broker with Nagle's algorithm back on (set_tcp_nodelay false), for comparison")
    parser.add_argument("--synchronous", default="FULL", help="the server's SQLite synchronous setting")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="motcua-bench-displays-"))
    broker = Mosquitto(work / "broker", users={SERVER_USER: "s", "display-hall": "d"})
    conf = broker.write_config()
    if args.nagle:  # deploy/ turns Nagle off (set_tcp_nodelay true); this puts it back to compare
        conf.write_text(conf.read_text(encoding="utf-8").replace("set_tcp_nodelay true", "set_tcp_nodelay false"),
                        encoding="utf-8")
    broker.start()
    server = ServerProcess(f"sqlite:///{work / 'bench.sqlite3'}", mqtt_url=broker.url(SERVER_USER), workdir=work,
                           extra_env={"MOTCUA_SQLITE_SYNCHRONOUS": args.synchronous})
    feed = None
    try:
        server.cli("db", "upgrade")
        server.cli("site", "load", str(site_file(work / "site.toml", args.counters)))
        server.cli("user", "add", "bench", "--role", "official", "--password", "bench-password")
        kiosk = server.cli("device-token", "--role", "kiosk", "--name", "kiosk-bench")
        server.start()
        token = server.login("bench", "bench-password")
        board = HallBoard("demo", max_calls=8)
        feed = BoardFeed.hall(broker.url("display-hall"), board)
        feed.start()
        board.wait_until(lambda: board.connected, 30)
        timer = Timer(board)
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {kiosk}"}) as k:
            for i in range(2 * args.counters * args.rounds + 50):
                k.post("/api/v1/sites/demo/tickets", json={"service": SERVICES[i % len(SERVICES)][0],
                                                           "idempotency_key": uuid.uuid4().hex}).raise_for_status()
        for pace in (args.pace, 0.0):
            timer.latency.clear()
            http_s, after_s, errors = run_calls(server.base_url, token, args.counters, args.rounds, pace, timer)
            lat = [v * 1000 for v in timer.latency.values()]
            http_ms = [v * 1000 for v in http_s]
            after_ms = [v * 1000 for v in after_s]
            mode = f"each calling every ~{pace:g} s" if pace else "all calling back to back (saturation)"
            print(f"HTTP call → hall view-model, {args.counters} counters {mode}: n={len(lat)} "
                  f"p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms, max {max(lat):.1f} ms "
                  f"(HTTP answer alone p50 {pct(http_ms, 50):.1f} ms, p99 {pct(http_ms, 99):.1f} ms; "
                  f"answer → board p50 {pct(after_ms, 50):.1f} ms, p99 {pct(after_ms, 99):.1f} ms)"
                  + (f"; {len(errors)} errors: {errors[:2]}" if errors else ""))
        print(f"server SQLite synchronous={args.synchronous}, broker set_tcp_nodelay={not args.nagle}")
        print(f"board: {len(board.counters)} counters shown, {board.duplicates} duplicate calls dropped")
    finally:
        if feed is not None:
            feed.stop()
        server.stop()
        broker.stop()
    bench_board()
    bench_voice(args.voice_calls)


if __name__ == "__main__":
    main()
