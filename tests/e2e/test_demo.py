"""``motcua demo``, as a newcomer runs it: it starts, says where to look, and things move."""

import re
import subprocess
import sys

import httpx
import pytest

from server.broker import free_port

pytestmark = pytest.mark.slow


def test_demo_starts_serves_pages_and_simulates_traffic(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "motcua", "demo", "--port", str(port), "--data-dir", str(tmp_path / "demo"),
         "--duration", "25"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl+C stops" in line:
                break
        text = "".join(lines)
        track = re.search(r"tracking page\s+(http://\S+/t/\S+)", text)
        assert track, text
        page = httpx.get(track.group(1), timeout=10)
        assert page.status_code == 200 and "Số thứ tự" in page.text
        queues = httpx.get(f"http://127.0.0.1:{port}/api/v1/sites/demo/queues", timeout=10).json()["queues"]
        assert {q["service"] for q in queues} == {"hotich", "chungthuc", "cutru", "xahoi", "kinhdoanh"}
        assert "mosquitto_sub -h 127.0.0.1" in text and "motcua kiosk --server" in text
        assert "counter 1 is yours" in text
        # no simulated official works counter 1: a person opening its terminal finds it theirs
        counters = httpx.get(f"http://127.0.0.1:{port}/api/v1/sites/demo/counters", timeout=10).json()["counters"]
        states = {c["counter"]: c for c in counters}
        assert states["1"]["status"] != "open" and states["1"]["ticket"] is None, states["1"]
        assert {states[c]["status"] for c in ("2", "3", "4")} == {"open"}, states
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == 0
        issued = re.search(r"simulated (\d+) tickets issued, (\d+) calls", rest)
        assert issued and int(issued.group(1)) >= 3 and int(issued.group(2)) >= 1, rest
    finally:
        if proc.poll() is None:
            proc.kill()
