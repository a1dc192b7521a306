"""Run the real kiosk window (Kivy, offscreen) and hand it one scanned code, as the reader would.

``python -m tests.kiosk.remote_scan_driver SERVER TOKEN OUTDIR TEXT`` starts the kiosk on the home
screen, feeds TEXT (what the QR reader read, e.g. a remote ticket's page URL) to the kiosk as a
scan, waits for the track screen, takes a screenshot and writes OUTDIR/remote_scan_result.json with
the screen's lines. One process per run (Kivy's Window is a process singleton).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.kiosk.window_driver import run_plan, shown_lines


def main(server: str, token: str, outdir: str, text: str) -> int:
    os.environ.pop("DISPLAY", None)
    os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    from kiosk.kivyconf import configure_kivy

    configure_kivy(1080, 1920)
    from kivy.core.window import Window

    from kiosk.app import KioskApp
    from kiosk.cli import build_controller

    vm, _ = build_controller(server, token, "demo", "sim://", id_key=b"test-kiosk-key")
    app = KioskApp(vm, wedge=False)
    result: dict = {"errors": []}

    def view(name):
        return app.sm.get_screen(name).children[0]

    def steps():
        yield (lambda: app.sm.current == "home" and view("home").ids.tiles.children), 0.3
        vm.scan_text(text)  # what the reader hands over for a QR code
        yield (lambda: app.sm.current == "track" and vm.state.track is not None), 0.5
        written = Window.screenshot(name=str(out / ".shot-remote-scan.png"))
        Path(written).replace(out / "remote_scan_track.png")
        result["screen"] = app.sm.current
        result["notice"] = vm.state.notice
        result["lines"] = shown_lines(view("track"))
        result["track"] = vm.state.track

    run_plan(app, steps(), result, out / "remote_scan_result.json")
    vm.client.close()
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
