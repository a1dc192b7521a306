"""The hall TV: a thin Kivy view over :class:`counter.boards.HallBoard`."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.properties import NumericProperty, StringProperty

from ..boards import HallBoard
from .common import KvOnce, load_kv, make, on_ui_thread, register_fonts, screenshot_when

NEW_CALL_FLASHES = 6  # half-seconds the big number blinks after a call


class HallApp(KvOnce, App):
    centre_name = StringProperty("")
    date_text = StringProperty("")
    time_text = StringProperty("")
    banner = StringProperty("")
    notice = StringProperty("")
    big_ticket = StringProperty("")
    big_where = StringProperty("")
    big_opacity = NumericProperty(1.0)
    ticker_offset = NumericProperty(0.0)
    counter_cols = NumericProperty(1)  # 2 columns past 8 counters, 3 past 16 (a 20-counter centre fits)
    u = NumericProperty(10.8)  # one hundredth of the window height, the unit of every size

    def __init__(self, board: HallBoard, feed=None, *, screenshot: Path | None = None, ready=None, **kw) -> None:
        super().__init__(**kw)
        self.title = "motcua — màn hình sảnh"
        self.board, self.feed = board, feed
        self.screenshot, self.ready = screenshot, ready
        self._flash = 0
        self._shown_seq: int | None = None

    def build(self):
        from kivy.core.window import Window

        register_fonts()
        load_kv("hall.kv")
        root = Factory.HallRoot()
        Window.bind(height=lambda _w, h: setattr(self, "u", h / 100))
        self.u = Window.height / 100
        self.board.listen(on_ui_thread(self.refresh))
        Clock.schedule_interval(self.tick, 0.5)
        Clock.schedule_interval(self.scroll, 1 / 30)
        self.root = root
        self.refresh()
        self.tick(0)
        if self.screenshot:
            ready = self.ready or (lambda: True)
            screenshot_when(self, lambda: ready() and self._flash == 0, self.screenshot)
        return root

    def on_start(self) -> None:
        if self.feed is not None:
            self.feed.start()

    def on_stop(self) -> None:
        if self.feed is not None:
            self.feed.stop()

    def tick(self, dt: float) -> None:
        self.date_text, self.time_text = self.board.clock_text()
        if self._flash > 0:
            self._flash -= 1
            self.big_opacity = 0.25 if self._flash % 2 else 1.0
        else:
            self.big_opacity = 1.0

    def scroll(self, dt: float) -> None:
        if not self.notice or self.root is None:
            return
        ticker = self.root.ids.ticker
        self.ticker_offset += self.u * 12 * dt
        if self.ticker_offset > self.root.width + ticker.width:
            self.ticker_offset = 0

    def refresh(self) -> None:
        board, ids = self.board, self.root.ids
        self.centre_name, self.notice, self.banner = board.centre_name, board.notice, board.banner
        calls = list(board.calls)
        if calls:
            newest = calls[0]
            self.big_ticket, self.big_where = newest.ticket, f"→ {newest.label}"
            if newest.seq != self._shown_seq:
                self._shown_seq, self._flash = newest.seq, NEW_CALL_FLASHES
        ids.calls.clear_widgets()
        for i, call in enumerate(calls[:6]):  # newest on top, highlighted
            ids.calls.add_widget(make("CallRowView", ticket=call.ticket, where=call.label, recall=call.recall,
                                                     newest=i == 0))
        ids.counters.clear_widgets()
        rows = board.counter_rows()
        self.counter_cols = 1 if len(rows) <= 8 else 2 if len(rows) <= 16 else 3
        for row in rows:
            shown = row.ticket or ("—" if row.status == "open" else ("Tạm dừng" if row.status == "paused" else "Đóng"))
            ids.counters.add_widget(make("CounterRowView", label=row.label, ticket=shown, status=row.status))
        ids.queues.clear_widgets()
        for q in board.queue_rows():
            ids.queues.add_widget(make("QueueRowView", name=board.service_name(q.service),
                                                       waiting=f"{q.waiting} người"))
