"""Run the real kiosk window (Kivy, offscreen) in its own process and drive it by touches.

``python -m tests.kiosk.window_driver SERVER TOKEN WIDTH HEIGHT LANG OUTDIR [voice]`` walks
home → (search) → service → CCCD → priority → ticket with simulated touches on the real buttons,
takes a screenshot of each screen into OUTDIR and writes OUTDIR/result.json with what was shown
and OUTDIR/printer.bin with the bytes the sim printer received. Kivy's Window is a process
singleton, hence one process per run.

With ``voice`` the walk is done in voice mode: the listen button first, then every tile and
button touched twice (once to hear, once to choose), recording for each screen the lines the
window shows and the lines the narrator said; the voice is real espeak-ng into the sim player.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

CCCD = "001190012345|012345678|Lò Thị Mai|01021990|Nữ|Bản Phăng, Mường Phăng, Điện Biên|15082021"


def shown_lines(root) -> list[str]:
    """Every line of text the citizen can see on a screen, minus the top bar and glyph pictures."""
    from kivy.uix.label import Label
    from kivy.uix.textinput import TextInput

    lines: list[str] = []

    def walk(widget, visible=True):
        name = type(widget).__name__
        if name in ("TopBar", "Glyph"):
            return
        visible = visible and widget.opacity > 0 and widget.height > 0
        if visible and isinstance(widget, Label) and widget.text.strip():
            lines.extend(line for line in widget.text.split("\n") if line.strip())
        if visible and isinstance(widget, TextInput):
            lines.append(widget.text or widget.hint_text)
        for child in reversed(widget.children):  # Kivy keeps children last-first
            walk(child, visible)

    walk(root)
    return lines


def under_top_bar(root) -> list[str]:
    """Lines drawn over the top bar (a screen whose content is taller than the window)."""
    from kivy.uix.label import Label

    bar = next(w for w in root.children if type(w).__name__ == "TopBar")
    _, bar_bottom = bar.to_window(bar.x, bar.y)
    bad = []

    def walk(widget):
        if widget is bar:
            return
        if isinstance(widget, Label) and widget.text.strip() and widget.opacity > 0:
            _, y = widget.to_window(widget.x, widget.y)
            top = y + (widget.height + widget.texture_size[1]) / 2  # the text is centred in its box
            if top > bar_bottom + 1:
                bad.append(widget.text[:40])
        for child in widget.children:
            walk(child)

    walk(root)
    return bad


def tile_overflows(grid) -> list[str]:
    """Tiles whose words do not fit inside them (drawn past the tile's edge)."""
    bad = []
    for tile in grid.children:
        label = tile.ids.text
        tw, th = label.texture_size
        if th > label.height + 1 or tw > tile.width:
            bad.append(f"{tile.label}: text {tw}x{th} in {label.width:.0f}x{label.height:.0f}")
    return bad


def hidden_tiles(view) -> list[str]:
    """Tiles not fully inside the scroller's visible area."""
    scroller = view.ids.scroller
    sx, sy = scroller.to_window(scroller.x, scroller.y)
    out = []
    for tile in view.ids.tiles.children:
        x, y = tile.to_window(tile.x, tile.y)
        if y < sy - 1 or y + tile.height > sy + scroller.height + 1:
            out.append(tile.label)
    return out



def run_plan(app, plan, result: dict, out_file: Path, timeout_s: float = 30) -> None:
    """Drive ``app`` through ``plan`` (a generator yielding (condition, delay) pairs: wait until the
    condition holds, then ``delay`` more seconds so the screen draws), then write ``result`` as JSON
    to ``out_file``. ``result["ok"]`` is True when the plan ran to its end; tracebacks go to
    ``result["errors"]``. Returns when the app has stopped."""
    from kivy.clock import Clock

    state = {"cond": (lambda: True), "delay": 0.0, "waited": 0.0}

    def pump(dt):
        try:
            state["waited"] += dt
            if state["waited"] > timeout_s:
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
    out_file.write_text(json.dumps(result, ensure_ascii=False, default=str), encoding="utf-8")


def main(server: str, token: str, width: int, height: int, lang: str, outdir: str, voice: bool = False) -> int:
    os.environ.pop("DISPLAY", None)
    os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    from kiosk.kivyconf import configure_kivy

    configure_kivy(width, height)
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    from kiosk.app import KioskApp
    from kiosk.cli import build_controller

    from kiosk.cli import build_narrator

    vm, _ = build_controller(server, token, "demo", "sim://", id_key=b"test-kiosk-key")
    narrator = build_narrator(vm, player="sim-realtime") if voice else None
    app = KioskApp(vm, wedge=False, narrator=narrator)
    tag = f"{lang}_{width}x{height}" + ("_voice" if voice else "")
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

    def check_screen(name):
        shown = shown_lines(view(name))
        result.setdefault("under_top_bar", []).extend(under_top_bar(view(name)))
        said = list(narrator.said[-1]) if narrator and narrator.said else []
        result.setdefault("voice_screens", []).append({"screen": name, "shown": shown, "said": said})

    def said_is(lines):
        return lambda: narrator.said and list(narrator.said[-1]) == list(lines)

    def voice_steps():
        yield (lambda: app.sm.current == "home" and view("home").ids.tiles.children), 0.3
        tap(view("home").children[-1].ids.listen)
        yield (lambda: vm.state.voice and narrator.said), 0.3
        check_screen("home")
        shot("v1-home")
        first = list(reversed(view("home").ids.tiles.children))[0]
        tap(first)  # once: read, stay
        yield said_is([first.label]), 0.3
        result["after_one_touch"] = {"screen": app.sm.current, "focused": first.focused,
                                     "said": list(narrator.said[-1])}
        shot("v2-home-focus")
        yield (lambda: narrator.voice.wait_idle(0.05)), 0.1  # let the tile's name be heard to the end
        tap(first)  # twice: choose
        yield (lambda: app.sm.current == "identify" and narrator.said[-1][0] == app.v["service"]), 0.3
        check_screen("identify")
        tap(view("identify").ids.next)
        yield said_is([app.v["next"]]), 0.2
        result["next_after_one_touch"] = app.sm.current
        tap(view("identify").ids.next)
        yield (lambda: app.sm.current == "priority" and len(narrator.said[-1]) > 2), 0.3
        check_screen("priority")
        shot("v3-priority")
        infant = list(reversed(view("priority").ids.tiles.children))[3]
        tap(infant)
        yield said_is([infant.label]), 0.2
        result["priority_after_one_touch"] = app.sm.current
        tap(infant)
        yield (lambda: app.sm.current == "ticket" and app.v["number"] and narrator.said[-1][1] == app.v["number"]), 0.5
        check_screen("ticket")
        shot("v4-ticket")
        result["voice_lines"] = list(narrator.voice.requested[-1])
        ticket = vm.state.ticket
        result["ticket_seen"] = ticket
        done = app.sm.get_screen("ticket").children[0].children[0]
        tap(done)
        yield said_is([app.v["done"]]), 0.2
        tap(done)  # twice: back home, voice mode still on
        yield (lambda: app.sm.current == "home" and vm.state.voice), 0.3
        vm.scan_text(ticket["track_url"])  # the ticket's QR shown to the reader
        yield (lambda: app.sm.current == "track" and narrator.said[-1][0] == app.v["title"]), 0.5
        check_screen("track")
        # The two screens a walk does not reach by itself: a request in flight, then the server lost.
        from dataclasses import replace

        from kiosk import state as st

        vm.store.state = replace(st.home(vm.clock()), voice=True, screen="issuing", service="hotich")
        vm.store.dispatch(st.Notice("printer.paper_low", vm.clock()))  # any change: listeners run
        yield (lambda: app.sm.current == "issuing" and narrator.said[-1][0] == app.v["title"]), 0.3
        check_screen("issuing")
        vm.store.dispatch(st.IssueFailed(vm.clock()))
        yield (lambda: app.sm.current == "help" and narrator.said[-1][0] == app.v["title"]), 0.3
        check_screen("help")
        help_view = app.sm.get_screen("help").children[0]
        tap(help_view.children[-1].ids.listen)  # voice off
        yield (lambda: not vm.state.voice), 0.1
        player = narrator.voice.player
        result["voice"] = {"events": narrator.voice.events, "max_overlap": player.max_overlap,
                           "played": len(player.played), "cut": len(player.stopped),
                           "spoken": [list(x) for x in narrator.voice.spoken],
                           "ticket": result["ticket_seen"]}

    def steps():
        if voice:
            yield from voice_steps()
            return
        # each yield: (condition, seconds to wait before the next step once it holds)
        yield (lambda: app.sm.current == "home" and view("home").ids.tiles.children), 0.3
        result["home_hidden_tiles"] = hidden_tiles(view("home"))
        result["home_more_hint"] = view("home").ids.more.text
        result["overflow"] = tile_overflows(view("home").ids.tiles)
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
        result["overflow"] += tile_overflows(view("priority").ids.tiles)
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

    run_plan(app, steps(), result, out / f"result_{tag}.json")
    vm.client.close()
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0], args[1], int(args[2]), int(args[3]), args[4], args[5], args[6:7] == ["voice"]))
