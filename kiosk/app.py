"""The Kivy shell around :class:`kiosk.flow.KioskController`: screens, fonts, threads, the reader.

Views hold no logic: each state change is turned into words by :func:`kiosk.present.present` and
put in ``app.v`` (a DictProperty the ``.kv`` files bind to); taps call the controller
(``vm.press(control)``: in voice mode the first touch reads, the second chooses). A
:class:`kiosk.speech.Narrator`, if given, reads screens aloud; it is plain Python too.
Call :func:`kiosk.kivyconf.configure_kivy` before importing this module.
"""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

log = logging.getLogger(__name__)
KV_DIR = Path(__file__).with_name("kv")
SCREENS = ("home", "identify", "priority", "issuing", "ticket", "help", "track")


from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.core.text import DEFAULT_FONT, LabelBase  # noqa: E402
from kivy.graphics.texture import Texture  # noqa: E402
from kivy.lang import Builder  # noqa: E402
from kivy.properties import (  # noqa: E402
    BooleanProperty,
    DictProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior  # noqa: E402
from kivy.uix.boxlayout import BoxLayout  # noqa: E402
from kivy.uix.gridlayout import GridLayout  # noqa: E402
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager  # noqa: E402

from devices.layout import FONT_BOLD, FONT_REGULAR, qr_image  # noqa: E402
from devices.reader import WedgeFeeder  # noqa: E402

from .flow import KioskController  # noqa: E402
from .icons import icon_image  # noqa: E402
from .present import _focus_key, present  # noqa: E402

_TEXTURES: dict[str, Texture] = {}


def icon_texture(name: str) -> Texture:
    if name not in _TEXTURES:
        _TEXTURES[name] = _texture(icon_image(name, 192), "rgba")
        _TEXTURES[name].mag_filter = "linear"
    return _TEXTURES[name]


class TileButton(ButtonBehavior, BoxLayout):
    """A picture and its words; the words' size shrinks until they fit inside the tile."""

    icon = StringProperty("")
    label = StringProperty("")
    action = ObjectProperty(None)
    focused = BooleanProperty(False)
    picture = ObjectProperty(None, allownone=True)
    font = NumericProperty(20)
    base_font = NumericProperty(20)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.picture = icon_texture(self.icon)
        self.bind(size=self._refit, base_font=self._refit, label=self._refit)
        self.ids.text.bind(texture_size=self._shrink)

    def _refit(self, *_args) -> None:
        self.font = self.base_font

    def _shrink(self, *_args) -> None:
        text = self.ids.text
        too_tall = text.texture_size[1] > text.height or text.texture_size[0] > text.width + 1
        if too_tall and self.font > self.base_font * 0.5 and text.height > 0:
            self.font = self.font * 0.92


class TileGrid(GridLayout):
    """Rows as tall as fit the space (between ``min_row`` and ``max_row``); beyond that it scrolls."""

    viewport = NumericProperty(0)
    min_row = NumericProperty(100)
    max_row = NumericProperty(300)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.size_hint_y = None
        self.row_force_default = True
        self.bind(minimum_height=self.setter("height"))
        self.bind(viewport=self._fit_rows, min_row=self._fit_rows, max_row=self._fit_rows, cols=self._fit_rows,
                  children=self._fit_rows, spacing=self._fit_rows)

    def _fit_rows(self, *_args) -> None:
        rows = max(1, -(-len(self.children) // max(1, self.cols or 1)))
        gap = self.spacing[1] if isinstance(self.spacing, (list, tuple)) else self.spacing
        fit = (self.viewport - gap * (rows - 1)) / rows
        self.row_default_height = max(self.min_row, min(self.max_row, fit))


class KioskScreen(Screen):
    pass


class KioskApp(App):
    """``reader`` is a devices reader (opened by the caller) or None; ``wedge`` feeds typed scans."""

    v = DictProperty({})
    u = NumericProperty(10)  # 1 % of the window's short side: every size in the .kv is in u
    landscape = BooleanProperty(False)
    qr = ObjectProperty(None, allownone=True)
    voice_on = BooleanProperty(False)
    speaker_icon = ObjectProperty(None, allownone=True)
    card_icon = ObjectProperty(None, allownone=True)

    def __init__(self, vm: KioskController, *, reader=None, wedge: bool = True, narrator=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.vm = vm
        self.narrator = narrator
        self.reader = reader
        self.wedge = WedgeFeeder() if wedge else None
        self.title = "motcua kiosk"
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-io")
        self._stopping = threading.Event()
        self._tiles_key = None
        self._qr_for = None

    # ---- Kivy life cycle ------------------------------------------------------------------------
    def build(self):
        from kivy.core.window import Window

        LabelBase.register(DEFAULT_FONT, str(FONT_REGULAR), fn_bold=str(FONT_BOLD))
        self.speaker_icon = icon_texture("speaker")
        self.card_icon = icon_texture("card")
        files = [KV_DIR / f"{name}.kv" for name in ("common", *SCREENS)]
        # kv binds to ``app.v['key']`` (a ``.get()`` call would not bind), so every key exists.
        self._blank = {key: "" for f in files for key in re.findall(r"app\.v\['(\w+)'\]", f.read_text("utf-8"))}
        self.v = dict(self._blank)
        for f in files:
            Builder.load_file(str(f))
        Window.clearcolor = (0.96, 0.96, 0.94, 1)
        self._resized(Window, Window.size)
        Window.bind(size=self._resized)
        Window.bind(on_touch_down=lambda *_: self.vm.touch())
        if self.wedge is not None:
            Window.bind(on_textinput=self._on_textinput, on_key_down=self._on_key_down)
        self.sm = ScreenManager(transition=NoTransition())
        for name in SCREENS:
            self.sm.add_widget(KioskScreen(name=name))
            self.sm.get_screen(name).add_widget(_instantiate(f"{name.capitalize()}View"))
        self.vm.run = self.run_in_background
        self.vm.subscribe(lambda _s: Clock.schedule_once(lambda _dt: self.render(), 0))
        return self.sm

    def _resized(self, _window, size) -> None:
        self.u = min(size) / 100
        self.landscape = size[0] > size[1]

    def on_start(self) -> None:
        self.run_in_background(self.vm.start, lambda _r: self.render())
        self.render()
        Clock.schedule_interval(lambda _dt: self.vm.tick(), 1.0)
        if self.reader is not None:
            threading.Thread(target=self._read_loop, name="kiosk-reader", daemon=True).start()

    def on_stop(self) -> None:
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        voice = getattr(self.narrator, "voice", None)
        if voice is not None and hasattr(voice, "close"):
            voice.close()

    # ---- background work -------------------------------------------------------------------------
    def run_in_background(self, job, done) -> None:
        """The controller's ``run``: job on the worker thread, ``done`` back on the UI thread."""
        def finished(future):
            try:
                result = future.result()
            except Exception:  # a bug in a job must not freeze the kiosk on "please wait"
                log.exception("kiosk job failed")
                Clock.schedule_once(lambda _dt: self.vm.go_home(), 0)
                return
            Clock.schedule_once(lambda _dt: done(result), 0)

        self._pool.submit(job).add_done_callback(finished)

    def _read_loop(self) -> None:
        for event in self.reader.events(timeout=0.5):
            if self._stopping.is_set():
                return
            if event is not None:
                Clock.schedule_once(lambda _dt, e=event: self.vm.scan(e), 0)

    # ---- keyboard-wedge scanner ---------------------------------------------------------------------
    def _typing_in_search(self) -> bool:
        box = self.sm.get_screen("home").children[0].ids.get("search")
        return bool(box is not None and box.focus)

    def _on_textinput(self, _window, text: str) -> None:
        if not self._typing_in_search():
            for event in self.wedge.feed(text):
                self.vm.scan(event)

    def _on_key_down(self, _window, key, *_args) -> None:
        if key in (13, 271) and not self._typing_in_search():
            for event in self.wedge.feed("\n"):
                self.vm.scan(event)

    # ---- taps (called from the .kv) ---------------------------------------------------------------
    def press(self, control) -> None:
        """A tile or button: in voice mode the first touch reads it, the second does it."""
        self.vm.press(tuple(control))

    # ---- state → screen ------------------------------------------------------------------------------
    def render(self) -> None:
        screen = present(self.vm)
        self.v = {**self._blank, "title": screen.title, "body": screen.body, "notice": screen.notice, **screen.texts}
        self.voice_on = self.vm.state.voice
        view = self.sm.get_screen(screen.name).children[0]
        grid = view.ids.get("tiles")
        if grid is not None and (screen.name, screen.tiles) != self._tiles_key:
            self._tiles_key = (screen.name, screen.tiles)
            grid.clear_widgets()
            for tile in screen.tiles:
                button = TileButton(icon=tile.icon, label=tile.label, action=tile.action)
                button.base_font = self.u * (4.2 if self.landscape else 4.6)
                grid.add_widget(button)
        if grid is not None:
            focus = screen.texts.get("focus", "")
            for button in grid.children:
                button.focused = bool(focus) and _focus_key(button.action) == focus
        search = view.ids.get("search")
        if search is not None and search.text != screen.texts.get("query", ""):
            search.text = screen.texts.get("query", "")
        url = screen.texts.get("track_url")
        if url and url != self._qr_for:
            self._qr_for, self.qr = url, _texture(qr_image(url, 8))
        self.sm.current = screen.name


def _instantiate(rule: str):
    from kivy.factory import Factory

    return getattr(Factory, rule)()


def _texture(image, mode: str = "rgb") -> Texture:
    rgb = image.convert(mode.upper())
    texture = Texture.create(size=rgb.size, colorfmt=mode)
    texture.blit_buffer(rgb.tobytes(), colorfmt=mode, bufferfmt="ubyte")
    texture.flip_vertical()
    texture.mag_filter = "nearest"
    return texture
