"""A whole site's footprint: install time on a clean Debian 12 root, disk, and RSS idle and busy.

    .venv/bin/python tests/bench/bench_site.py                 # RSS and disk of a running site
    .venv/bin/python tests/bench/bench_site.py --install       # also install time (root, mmdebstrap)
    .venv/bin/python tests/bench/bench_site.py --no-rss --install uncached

RSS: server + Mosquitto + announcer + hall display (offscreen Kivy window) started on loopback
from this checkout, idle, then under a busy morning (kiosks issuing, officials calling at every
counter), summed from /proc. Floor: the same four programs as bare processes (an idle python3
interpreter three times, and Mosquitto), measured in the same run.
Install: deploy/install-site.sh in a fresh root: "cached" = the Debian packages already in the
root and pip's cache warm; "uncached" = a minbase root where the installer fetches every Debian
package and a cold pip cache. Floor: unpacking the root (what every run pays before installing).
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402

from server.broker import SERVER_USER, Mosquitto, free_port  # noqa: E402
from tests.support.processes import ROOT, ServerProcess  # noqa: E402


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss(pid: int) -> float:
    """RSS of a process and its children (the hall display's python may fork helpers)."""
    total = rss_mb(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(tree_rss(int(c)) for c in children)


def device_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    env.update(PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1")
    env.pop("DISPLAY", None)
    return env


def busy_morning(base: str, kiosk_token: str, officials: list[tuple[str, str]], seconds: float) -> dict:
    stop = time.monotonic() + seconds
    counts = {"tickets": 0, "calls": 0}

    def kiosk():
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {kiosk_token}"}, timeout=10) as c:
            while time.monotonic() < stop:
                if c.post("/api/v1/sites/demo/tickets",
                          json={"service": "hotich", "idempotency_key": uuid.uuid4().hex}).status_code == 201:
                    counts["tickets"] += 1
                time.sleep(0.05)

    def official(counter: str, token: str):
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
            c.post(f"/api/v1/sites/demo/counters/{counter}/open")
            current = None
            while time.monotonic() < stop:
                if current:
                    c.post(f"/api/v1/tickets/{current}/finish")
                r = c.post(f"/api/v1/sites/demo/counters/{counter}/call-next")
                current = r.json()["id"] if r.status_code == 200 else None
                if current:
                    counts["calls"] += 1
                    c.post(f"/api/v1/tickets/{current}/start")
                time.sleep(0.2)

    threads = [threading.Thread(target=kiosk) for _ in range(2)]
    threads += [threading.Thread(target=official, args=o) for o in officials]
    for t in threads:
        t.start()
    return {"threads": threads, "counts": counts}


def measure_site(work: Path, busy_s: float) -> dict[str, float]:
    users = {SERVER_USER: "s-pass", "display-hall": "d-pass", "announcer": "a-pass"}
    broker = Mosquitto(work / "broker", users=users).start()
    server = ServerProcess(f"sqlite:///{work / 'site.sqlite3'}", mqtt_url=broker.url(SERVER_USER), workdir=work)
    server.cli("site", "load", str(ROOT / "server" / "seed" / "demo_site.toml"))
    officials = []
    for n in "1234":
        server.cli("user", "add", f"canbo{n}", "--role", "official", "--site", "demo", "--password", f"canbo{n}-pass")
    token = server.cli("device-token", "--role", "kiosk", "--name", "kiosk-1")
    server.start()
    logs = open(work / "devices.log", "ab")
    announcer = subprocess.Popen([sys.executable, "-m", "motcua", "announcer", "--mqtt", broker.url("announcer"),
                                  "--player", "null"], env=device_env(), stdout=logs, stderr=logs)
    hall = subprocess.Popen([sys.executable, "-m", "motcua", "display", "--hall", "--windowed", "--mqtt",
                             broker.url("display-hall"), "--server", server.base_url], env=device_env(),
                            stdout=logs, stderr=logs)
    procs = {"server": server.process.pid, "mosquitto": broker.process.pid, "announcer": announcer.pid,
             "hall": hall.pid}
    try:
        time.sleep(8)  # everything connected and settled
        idle = {name: tree_rss(pid) for name, pid in procs.items()}
        for n in "1234":
            officials.append((n, server.login(f"canbo{n}", f"canbo{n}-pass")))
        load = busy_morning(server.base_url, token, officials, busy_s)
        peak = dict.fromkeys(procs, 0.0)
        while any(t.is_alive() for t in load["threads"]):
            for name, pid in procs.items():
                peak[name] = max(peak[name], tree_rss(pid))
            time.sleep(0.5)
        db_bytes = sum(p.stat().st_size for p in work.glob("site.sqlite3*"))
        return {**{f"idle_{k}": v for k, v in idle.items()}, **{f"busy_{k}": v for k, v in peak.items()},
                "idle_total": sum(idle.values()), "busy_total": sum(peak.values()),
                "tickets": load["counts"]["tickets"], "calls": load["counts"]["calls"], "db_mb": db_bytes / 2**20}
    finally:
        for p in (hall, announcer):
            p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        server.stop()
        broker.stop()


def measure_floor() -> float:
    procs = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(3)]
    work = Path(tempfile.mkdtemp())
    broker = Mosquitto(work / "b", users={SERVER_USER: "x"}).start()
    time.sleep(1.5)
    total = sum(rss_mb(p.pid) for p in procs) + rss_mb(broker.process.pid)
    for p in procs:
        p.kill()
        p.wait()
    broker.stop()
    shutil.rmtree(work, ignore_errors=True)
    return total


def measure_install(uncached: bool) -> tuple[float, float, float, float]:
    """(install seconds, unpack seconds, /opt/motcua MB, root MB) in a fresh root."""
    from tests.deploy.debian_root import BASE_PACKAGES, DebianRoot, installer_packages, root_tarball

    packages = BASE_PACKAGES if uncached else BASE_PACKAGES + installer_packages()
    tarball, _ = root_tarball(packages)
    work = Path(tempfile.mkdtemp(prefix="bench-install-"))
    try:
        t0 = time.monotonic()
        root = DebianRoot.unpack(tarball, work / "root")
        unpack_s = time.monotonic() - t0
        src = root.file("/srv/motcua-src")
        src.mkdir(parents=True)
        subprocess.run(f"tar -C {ROOT} --exclude=.venv --exclude=.git --exclude=__pycache__ -cf - . | tar -C {src} -xf -",
                       shell=True, check=True)
        root.file("/root/site.toml").write_text((ROOT / "server" / "seed" / "demo_site.toml").read_text())
        pip_cache = work / "pip" if uncached else Path(os.environ.get("MOTCUA_TEST_CACHE", Path.home() / ".cache" / "motcua-test")) / "pip"
        pip_cache.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        from tests.deploy.test_install_site import host_trust

        out = root.run(f"/srv/motcua-src/deploy/install-site.sh --site-file /root/site.toml --public-url "
                       f"http://127.0.0.1:{free_port()}", env={"PIP_CACHE_DIR": "/var/cache/motcua-pip", **host_trust(root)},
                       binds={str(pip_cache): "/var/cache/motcua-pip"}, check=False)
        install_s = time.monotonic() - t0
        if out.returncode != 0:
            raise SystemExit(out.stdout[-2000:] + out.stderr[-2000:])
        du = lambda p: int(subprocess.run(["du", "-sm", str(p)], capture_output=True, text=True).stdout.split()[0])  # noqa: E731
        return install_s, unpack_s, du(root.file("/opt/motcua")), du(root.path)
    finally:
        root_path = work / "root"
        if root_path.exists():
            DebianRoot(root_path).kill_all()
        shutil.rmtree(work, ignore_errors=True)


def mmm(values: list[float]) -> str:
    s = sorted(values)
    return f"{s[0]:.1f} / {s[len(s) // 2]:.1f} / {s[-1]:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--busy", type=float, default=30.0, help="seconds of busy morning")
    ap.add_argument("--install", choices=["both", "cached", "uncached"], nargs="?", const="both",
                    help="also time the installer in clean roots (root only)")
    ap.add_argument("--no-rss", action="store_true", help="skip the running-site figures")
    args = ap.parse_args()
    results, floors = [], []
    for _ in range(0 if args.no_rss else args.runs):
        work = Path(tempfile.mkdtemp(prefix="bench-site-"))
        try:
            results.append(measure_site(work, args.busy))
            floors.append(measure_floor())
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if results:
        print(f"site RSS, MB (min / median / max of {args.runs} runs)")
        for key in results[0]:
            print(f"  {key:18s} {mmm([r[key] for r in results])}")
        print(f"  floor (3 idle python3 + bare mosquitto) {mmm(floors)}")
        print(f"  idle total / floor  {mmm([r['idle_total'] / f for r, f in zip(results, floors)])}")
        print(f"  busy total / floor  {mmm([r['busy_total'] / f for r, f in zip(results, floors)])}")
    if args.install:
        for label, uncached in (("cached", False), ("uncached", True)):
            if args.install not in ("both", label):
                continue
            runs = [measure_install(uncached) for _ in range(args.runs)]
            print(f"install on a clean Debian 12 root, {label} (min / median / max of {args.runs})")
            print(f"  install s            {mmm([r[0] for r in runs])}")
            print(f"  floor: unpack root s {mmm([r[1] for r in runs])}")
            print(f"  ratio install/floor  {mmm([r[0] / r[1] for r in runs])}")
            print(f"  /opt/motcua MB       {mmm([r[2] for r in runs])}")
            print(f"  whole root MB        {mmm([r[3] for r in runs])}")


if __name__ == "__main__":
    main()
