"""Run the real kiosk window (Kivy, offscreen) in its own process and drive it by touches.

``python -m tests.kiosk.window_driver SERVER TOKEN WIDTH HEIGHT LANG OUTDIR`` walks
home → (search) → service → CCCD → priority → ticket with simulated touches on the real buttons,
takes a screenshot of each screen into OUTDIR and writes OUTDIR/result.json with what was shown
and OUTDIR/printer.bin with the bytes the sim printer received. Kivy's Window is a process
singleton, hence one process per run.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

CCCD = "001190012345|012345678|Lò Thị Mai|01021990|Nữ|Bản Phăng, Mường Phăng, Điện Biên|15082021"


def main(server: str, token: str, width: int, height: int, lang: str, outdir: str) -> int:
    os.environ.pop("DISPLAY", None)
    os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    from kiosk.kivyconf import configure_kivy

    configure_kivy(width, height)
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    from kiosk.app import KioskApp
    from kiosk.cli import build_controller

    vm, _ = build_controller(server, token, "demo", "sim://", id_key=b"test-kiosk-key")
    app = KioskApp(vm, wedge=False)
    tag = f"{lang}_{width}x{height}"
    result: dict = {"screens": [], "errors": []}

    def view(name):
        return app.sm.get_screen(name).children[0]

    def tap(widget):
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()

    def shot(name):
        path = out / f"{name}_{tag}.png"
        path.unlink(missing_ok=True)
        written = Window.screenshot(name=str(out / f".shot-{name}.png"))
        Path(written).replace(path)  # Kivy numbers screenshots; keep one stable name per screen
        result["screens"].append(path.name)

    def steps():
        # each yield: (condition, seconds to wait before the next step once it holds)
        yield (lambda: app.sm.current == "home" and view("home").ids.tiles.children), 0.3
        if lang == "en":
            tap(view("home").children[-1].ids.language)
            yield (lambda: vm.state.lang == "en"), 0.3
        shot("1-home")
        view("home").ids.search.text = "dang ky khai sinh"
        yield (lambda: len(view("home").ids.tiles.children) >= 1 and vm.state.query), 0.3
        result["search_hits"] = [b.label for b in reversed(view("home").ids.tiles.children)]
        shot("2-search")
        view("home").ids.search.text = ""
        yield (lambda: not vm.state.query and len(view("home").ids.tiles.children) == len(vm.services)), 0.2
        first = list(reversed(view("home").ids.tiles.children))[0]
        tap(first)
        yield (lambda: app.sm.current == "identify"), 0.3
        shot("3-identify")
        vm.scan_text(CCCD)
        yield (lambda: vm.state.greeting is not None), 0.3
        result["greeting"] = app.v.get("greeting")
        shot("4-identify-card")
        tap(view("identify").ids.next)
        yield (lambda: app.sm.current == "priority"), 0.3
        shot("5-priority")
        elderly = list(reversed(view("priority").ids.tiles.children))[0]
        tap(elderly)
        tap(elderly)  # a double tap: the second one must not issue another ticket
        yield (lambda: app.sm.current == "ticket" and app.qr is not None), 0.5
        shot("6-ticket")
        ticket = vm.state.ticket
        result["shown_number"] = view("ticket").ids.number.text
        result["ticket"] = ticket
        result["body"] = vm.ticket_body()
        result["lang"] = vm.state.lang
        result["print_problem"] = vm.state.print_problem
        (out / f"printer_{tag}.bin").write_bytes(vm.printer.backend.output)
        view_ = vm.ticket_view(ticket, vm.state.lang)
        result["ticket_view"] = {**view_.__dict__, "issued_at": view_.issued_at.isoformat()}
        tap(app.sm.get_screen("ticket").children[0].children[0])  # "Done"
        yield (lambda: app.sm.current == "home" and vm.state.lang == "vi"), 0.1

    plan = steps()
    state = {"cond": (lambda: True), "delay": 0.0, "waited": 0.0}

    def pump(dt):
        try:
            state["waited"] += dt
            if state["waited"] > 30:
                raise TimeoutError("the kiosk did not reach the expected screen")
            if not state["cond"]():
                return
            if state["delay"] > 0:  # let the screen draw before the next step (or screenshot)
                state["delay"] -= dt
                return
            state["cond"], state["delay"] = next(plan)
            state["waited"] = 0.0
        except StopIteration:
            result["ok"] = True
            app.stop()
        except Exception:
            result["errors"].append(traceback.format_exc())
            app.stop()

    Clock.schedule_interval(pump, 0.1)
    try:
        app.run()
    except BaseException:
        result["errors"].append(traceback.format_exc())
    (out / f"result_{tag}.json").write_text(json.dumps(result, ensure_ascii=False, default=str), encoding="utf-8")
    vm.client.close()
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0], args[1], int(args[2]), int(args[3]), args[4], args[5]))
