"""One counter's small screen: a thin Kivy view over :class:`counter.boards.CounterBoard`, and over
:class:`counter.rating.RatingPrompt` when the screen may ask the citizen for a rating."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.properties import NumericProperty, StringProperty

from ..boards import CounterBoard
from ..messages import STATUS_VI
from ..rating import QUESTION_VI, THANKS_VI, RatingPrompt
from .common import KvOnce, load_kv, on_ui_thread, register_fonts, screenshot_when

FLASHES = 6


class CounterScreenApp(KvOnce, App):
    label = StringProperty("")
    ticket = StringProperty("—")
    status_text = StringProperty("")
    banner = StringProperty("")
    ticket_opacity = NumericProperty(1.0)
    u = NumericProperty(4.8)
    rating_state = StringProperty("idle")  # idle | ask | thanks
    rating_ticket = StringProperty("")
    rating_question = StringProperty(QUESTION_VI)
    rating_thanks = StringProperty(THANKS_VI)

    def __init__(self, board: CounterBoard, feed=None, *, prompt: RatingPrompt | None = None,
                 screenshot: Path | None = None, ready=None, **kw) -> None:
        super().__init__(**kw)
        self.title = f"motcua — quầy {board.counter}"
        self.board, self.feed, self.prompt = board, feed, prompt
        self.screenshot, self.ready = screenshot, ready
        self._blinks_seen: int | None = None
        self._flash = 0

    def build(self):
        from kivy.core.window import Window

        register_fonts()
        load_kv("counter_screen.kv")
        root = Factory.CounterScreenRoot()
        Window.bind(height=lambda _w, h: setattr(self, "u", h / 100))
        self.u = Window.height / 100
        self.board.listen(on_ui_thread(self.refresh))
        if self.prompt is not None:
            self.prompt.listen(on_ui_thread(self.refresh))
        Clock.schedule_interval(self.tick, 0.4)
        self.refresh()
        if self.screenshot:
            screenshot_when(self, self.ready or (lambda: True), self.screenshot)
        return root

    def on_start(self) -> None:
        if self.prompt is not None:
            self.prompt.sender.start()
        if self.feed is not None:
            self.feed.start()

    def on_stop(self) -> None:
        if self.feed is not None:
            self.feed.stop()
        if self.prompt is not None:
            self.prompt.sender.stop()

    def rate(self, rating: str) -> None:
        """A tap on one of the three faces."""
        if self.prompt is not None:
            self.prompt.rate(rating)

    def refresh(self) -> None:
        b = self.board
        self.label, self.banner = b.label, b.banner
        self.ticket = b.ticket or "—"
        self.status_text = STATUS_VI.get(b.status, b.status)
        if self._blinks_seen is not None and b.blinks != self._blinks_seen:
            self._flash = FLASHES
        self._blinks_seen = b.blinks
        if self.prompt is not None:
            self.rating_state = self.prompt.state
            self.rating_ticket = self.prompt.ticket or ""

    def tick(self, dt: float) -> None:
        if self.prompt is not None:
            self.prompt.tick()
        if self._flash > 0:
            self._flash -= 1
        self.ticket_opacity = 0.2 if self._flash % 2 else 1.0
