"""Device programs log each line once, in one format, without Kivy's Cutbuffer CRITICAL."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.support.cli import ROOT

pytestmark = pytest.mark.slow


def run_until_started(args, tmp_path, name) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOTCUA_", "KIVY_"))}
    env.update({"PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "offscreen", "HOME": str(tmp_path / "home")})
    (tmp_path / "home").mkdir(exist_ok=True)
    log = tmp_path / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "motcua", *args], env=env, stdout=out, stderr=out,
                                cwd=tmp_path)
        try:
            deadline = time.monotonic() + 60
            while "Start application main loop" not in log.read_text(errors="replace"):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            time.sleep(1.5)  # the first frames and network attempts log too
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return log.read_text(errors="replace")


def assert_clean(text: str) -> None:
    lines = [line for line in text.splitlines() if line.strip()]
    assert sum("Start application main loop" in line for line in lines) == 1, text
    assert sum("Kivy: v" in line or "[Kivy" in line for line in lines) == 1, text
    assert "Cutbuffer" not in text and "CRITICAL" not in text, text
    assert "\x1b[" not in text, text  # no second, coloured copy from Kivy's own console handler
    assert " DEBUG " not in text, text
    messages = [line.split(" ", 2)[2] for line in lines if line[:4].isdigit()]
    assert len(messages) == len(set(messages)), [m for m in messages if messages.count(m) > 1]


def test_hall_display_logs_each_line_once(tmp_path, broker):
    text = run_until_started(["display", "--hall", "--mqtt", broker.url("display-hall")], tmp_path, "display")
    assert_clean(text)


def test_kiosk_logs_once_and_without_cutbuffer(tmp_path):
    text = run_until_started(["kiosk", "--server", "http://127.0.0.1:9", "--token", "t", "--id-key", "k",
                              "--printer", "sim://"], tmp_path, "kiosk")
    assert_clean(text)
    assert "cannot load the menu: server unreachable" in text  # our own lines still arrive
