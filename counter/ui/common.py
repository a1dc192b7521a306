"""What every screen shares: window set-up before Kivy starts, the Vietnamese font, screenshots."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import devices

FONT_DIR = Path(devices.__file__).resolve().parent / "fonts"
KV_DIR = Path(__file__).resolve().parent


def configure_window(width: int, height: int, *, fullscreen: bool = False, resizable: bool = True) -> None:
    """Must run before ``kivy.core.window`` is imported (Kivy reads its Config then)."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "1" if resizable else "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("kivy", "exit_on_escape", "0")


def register_fonts() -> None:
    """DejaVu has every Vietnamese glyph; used as ``font_name: "Viet"`` in the .kv files."""
    from kivy.core.text import LabelBase

    LabelBase.register("Viet", str(FONT_DIR / "DejaVuSans.ttf"), fn_bold=str(FONT_DIR / "DejaVuSans-Bold.ttf"))


class KvOnce:
    """Mixin for our Apps: Kivy would also auto-load ``<appname>.kv`` beside the module, applying
    every rule twice; each App loads its one file itself in ``build()``."""

    def load_kv(self, filename=None):
        return True


def load_kv(name: str) -> None:
    from kivy.lang import Builder

    Builder.load_file(str(KV_DIR / name))


def on_ui_thread(fn: Callable[[], None]) -> Callable[[], None]:
    """A view-model listener (called on any thread) that runs ``fn`` on the Kivy clock."""
    from kivy.clock import Clock

    trigger = Clock.create_trigger(lambda dt: fn(), 0)
    return trigger


def save_screenshot(path: Path) -> Path:
    """Write the window as PNG to exactly ``path`` (Kivy appends a number; we rename)."""
    from kivy.core.window import Window

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="motcua-shot-"))
    written = Window.screenshot(str(tmp / "shot.png"))
    shutil.move(written, path)
    shutil.rmtree(tmp, ignore_errors=True)
    return path


def screenshot_when(app, ready: Callable[[], bool], path: Path, *, timeout: float = 30.0) -> None:
    """Once ``ready()`` (checked each 0.1 s), let two frames draw, save ``path`` and stop the app."""
    from kivy.clock import Clock

    state = {"waited": 0.0}

    def check(dt: float) -> bool:
        state["waited"] += dt
        if ready() or state["waited"] > timeout:
            Clock.schedule_once(lambda _dt: Clock.schedule_once(shoot, 0.3), 0)
            return False
        return True

    def shoot(dt: float) -> None:
        save_screenshot(path)
        app.stop()

    Clock.schedule_interval(check, 0.1)


def make(kv_class: str, **props):
    """A widget of a ``.kv`` dynamic class; its own properties are set after construction
    (Kivy refuses kv-declared properties as constructor keywords)."""
    from kivy.factory import Factory

    widget = getattr(Factory, kv_class)()
    for name, value in props.items():
        setattr(widget, name, value)
    return widget
