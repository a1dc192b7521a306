"""Run the real kiosk window (Kivy, offscreen) and show it a booked citizen's QR.

``python -m tests.kiosk.checkin_driver SERVER TOKEN WIDTH HEIGHT OUTDIR QR_TEXT`` waits for the
home screen, hands ``QR_TEXT`` to the kiosk as its reader does with a scanned code, waits for the
ticket screen, screenshots it into OUTDIR/checkin-ticket.png and writes OUTDIR/checkin.json with
the number and lines shown and the bytes the sim printer got (checkin-printer.bin).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.kiosk.window_driver import run_plan, shown_lines


def main(server: str, token: str, width: int, height: int, outdir: str, qr_text: str) -> int:
    os.environ.pop("DISPLAY", None)
    os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    from kiosk.kivyconf import configure_kivy

    configure_kivy(width, height)
    from kivy.core.window import Window

    from kiosk.app import KioskApp
    from kiosk.cli import build_controller

    vm, _ = build_controller(server, token, "demo", "sim://", id_key=b"test-kiosk-key")
    app = KioskApp(vm, wedge=False)
    result: dict = {"errors": []}

    def view(name):
        return app.sm.get_screen(name).children[0]

    def shot(name):
        path = out / f"{name}.png"
        path.unlink(missing_ok=True)
        Path(Window.screenshot(name=str(out / f".shot-{name}.png"))).replace(path)

    def steps():
        yield (lambda: app.sm.current == "home" and view("home").ids.tiles.children), 0.3
        vm.scan_text(qr_text)  # what the reader hands over for a scanned QR
        yield (lambda: app.sm.current == "ticket" and app.qr is not None), 0.5
        shot("checkin-ticket")
        result["shown_number"] = view("ticket").ids.number.text
        result["shown"] = shown_lines(view("ticket"))
        result["ticket"] = vm.state.ticket
        result["print_problem"] = vm.state.print_problem
        (out / "checkin-printer.bin").write_bytes(vm.printer.backend.output)

    run_plan(app, steps(), result, out / "checkin.json")
    vm.client.close()
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    a = sys.argv[1:]
    sys.exit(main(a[0], a[1], int(a[2]), int(a[3]), a[4], a[5]))
