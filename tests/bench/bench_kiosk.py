"""Kiosk figures (a script, not collected by pytest): run ``.venv/bin/python tests/bench/bench_kiosk.py``.

* cold start: process spawn → home screen drawn with the site's tiles (Kivy offscreen, 1080×1920);
* tap "issue" → printer bytes written: the priority tap's whole path (POST with idempotency key,
  ticket layout rendered, ESC/POS encoded, written to a sim printer), p50/p95 over N tickets
  against a live local server;
* RSS of the kiosk process with its window up.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
N = 60


def child_cold_start(server: str, token: str, t0: float) -> None:
    """In a fresh process: start the kiosk window and report when home is drawn."""
    os.environ.pop("DISPLAY", None)
    os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    from kiosk.kivyconf import configure_kivy

    configure_kivy(1080, 1920)
    from kivy.clock import Clock

    from kiosk.app import KioskApp
    from kiosk.cli import build_controller

    vm, _ = build_controller(server, token, "demo", "sim://", id_key=b"bench-key")
    app = KioskApp(vm, wedge=False)
    out: dict = {}

    def check(_dt):
        home = app.sm.get_screen("home").children[0]
        if app.sm.current == "home" and home.ids.tiles.children and "ready" not in out:
            out["ready"] = time.time() - t0
            Clock.schedule_once(lambda _dt: finish(), 0)  # one more frame: it is on screen

    def finish():
        out["drawn"] = time.time() - t0
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(("VmRSS", "VmHWM")):
                    out[line.split(":")[0]] = int(line.split()[1]) // 1024
        app.stop()

    Clock.schedule_interval(check, 0)
    app.run()
    print(json.dumps(out))


def main() -> None:
    os.environ.setdefault("KIVY_HOME", str(Path(tempfile.gettempdir()) / "motcua-test-cache" / "kivy"))
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    from devices.printer import open_printer
    from kiosk.client import KioskClient
    from kiosk.flow import KioskController
    from tests.support.live import LiveSite

    with tempfile.TemporaryDirectory() as tmp:
        site = LiveSite(Path(tmp)).start()
        try:
            colds = []
            for _ in range(3):
                env = {**os.environ, "SDL_VIDEODRIVER": "offscreen"}
                env.pop("DISPLAY", None)
                t0 = time.time()
                proc = subprocess.run([sys.executable, __file__, "--child", site.base_url, site.tokens["kiosk"],
                                       repr(t0)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
                colds.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            client = KioskClient(site.base_url, site.tokens["kiosk"], "demo").open()
            printer = open_printer("sim://")
            vm = KioskController(client, printer, id_key=b"bench-key")
            vm.start()
            lat = []
            for i in range(N):
                vm.go_home()
                vm.choose_service(("hotich", "chungthuc", "cutru")[i % 3])
                vm.continue_()
                before = len(printer.backend.jobs)
                t = time.perf_counter()
                vm.choose_priority(None)
                lat.append((time.perf_counter() - t) * 1000)
                assert len(printer.backend.jobs) == before + 1 and vm.state.screen == "ticket"
            client.close()
        finally:
            site.stop()
    lat.sort()
    drawn = ", ".join(f"{c['drawn']:.2f}" for c in colds)
    print(f"cold start → home drawn (3 runs, s): {drawn}")
    print(f"kiosk RSS with window up: {colds[-1].get('VmRSS')} MiB (peak {colds[-1].get('VmHWM')} MiB)")
    print(f"tap issue → printer bytes written, N={N}: p50 {statistics.median(lat):.1f} ms, "
          f"p95 {lat[int(0.95 * (N - 1))]:.1f} ms, max {lat[-1]:.1f} ms (target p50 < 300 ms)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_cold_start(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        main()
