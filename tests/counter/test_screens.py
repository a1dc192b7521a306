"""Real Kivy windows (offscreen SDL), one subprocess per screen, fed by the live site and broker.

Each runs the real command (``motcua display --hall``, ``motcua counter``, ``motcua display
--counter``) with the hidden ``--screenshot``: it draws once the data is there, saves a PNG in
tests/_artifacts/counter/ and exits. Kivy's Window is a process singleton, hence subprocesses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from PIL import Image

from tests.support.live import PASSWORD
from tests.support.mqtt import Collector

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "_artifacts" / "counter"
T = 90.0


def kivy_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY" and not k.startswith("MOTCUA_")}
    env.update(SDL_VIDEODRIVER="offscreen", KIVY_HOME=str(tmp_path / "kivy"), KIVY_NO_ARGS="1",
               KIVY_NO_CONSOLELOG="1", PYTHONPATH=str(ROOT), **extra)
    return env


def motcua(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "motcua", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, shot: Path) -> Image.Image:
    try:
        out, _ = proc.communicate(timeout=T)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"screen did not exit:\n{out[-3000:]}")
    assert proc.returncode == 0, out[-3000:]
    assert shot.exists(), out[-3000:]
    image = Image.open(shot).convert("RGB")
    assert len(image.resize((64, 36)).getcolors(64 * 36)) > 8  # drawn, not a blank window
    return image


def http_post(live, who: str, path: str, **kw) -> dict:
    with live.client(who) as c:
        r = c.post(path, **kw)
        r.raise_for_status()
        return r.json()


def issue(live, service: str) -> dict:
    return http_post(live, "kiosk", "/api/v1/sites/demo/tickets",
                     json={"service": service, "idempotency_key": uuid.uuid4().hex})


def wait_online(broker, user: str, proc: subprocess.Popen) -> None:
    """The display announces itself (retained ``online``); fail at once if it died instead."""
    watcher = Collector(broker, "announcer", f"motcua/v1/demo/devices/{user}/availability").start()
    try:
        for _ in range(int(T)):
            if proc.poll() is not None:
                pytest.fail(f"display exited early:\n{proc.communicate()[0][-3000:]}")
            try:
                watcher.wait_for(lambda m: m[1] == "online", timeout=1)
                return
            except AssertionError:
                continue
        pytest.fail("display never came online")
    finally:
        watcher.stop()


def test_hall_display_screenshot(mqtt_site, broker, tmp_path):
    shot = ARTIFACTS / "hall.png"
    shot.unlink(missing_ok=True)
    for c in "1234":
        http_post(mqtt_site, f"canbo{c}", f"/api/v1/sites/demo/counters/{c}/open")
    for svc in ("hotich", "hotich", "chungthuc", "cutru", "xahoi", "hotich", "cutru"):
        issue(mqtt_site, svc)
    proc = motcua("display", "--hall", "--mqtt", broker.url("display-hall"), "--site", "demo",
                  "--server", mqtt_site.base_url, "--notice",
                  "Trung tâm làm việc từ 7 giờ 30 đến 17 giờ, thứ Hai đến thứ Sáu.",
                  "--screenshot", str(shot), "--screenshot-calls", "4", env=kivy_env(tmp_path))
    wait_online(broker, "display-hall", proc)
    for c in "1234":
        http_post(mqtt_site, f"canbo{c}", f"/api/v1/sites/demo/counters/{c}/call-next")
    image = finish(proc, shot)
    assert image.size == (1920, 1080)


def test_counter_terminal_screenshot(site, tmp_path):
    shot = ARTIFACTS / "terminal.png"
    shot.unlink(missing_ok=True)
    http_post(site, "canbo1", "/api/v1/sites/demo/counters/1/open")
    for svc, prio in (("hotich", None), ("hotich", None), ("chungthuc", "elderly"), ("hotich", None)):
        http_post(site, "kiosk", "/api/v1/sites/demo/tickets",
                  json={"service": svc, "idempotency_key": uuid.uuid4().hex, **({"priority": prio} if prio else {})})
    proc = motcua("counter", "--server", site.base_url, "--site", "demo", "--counter", "1", "--user", "canbo1",
                  "--screenshot", str(shot), "--screenshot-keys", "f1,f3",
                  env=kivy_env(tmp_path, MOTCUA_PASSWORD=PASSWORD))
    image = finish(proc, shot)
    assert image.size[0] < 1000  # a small window beside the official's other work


def test_counter_screen_screenshot(mqtt_site, broker, tmp_path):
    shot = ARTIFACTS / "counter-screen.png"
    shot.unlink(missing_ok=True)
    http_post(mqtt_site, "canbo3", "/api/v1/sites/demo/counters/3/open")
    issue(mqtt_site, "cutru")
    http_post(mqtt_site, "canbo3", "/api/v1/sites/demo/counters/3/call-next")
    proc = motcua("display", "--counter", "3", "--mqtt", broker.url("counter-1"), "--site", "demo",
                  "--led", "sim://", "--screenshot", str(shot), env=kivy_env(tmp_path))
    image = finish(proc, shot)
    assert image.size == (480, 320)  # the small screen facing the citizen, not a full-size window
