"""Drive an LED counter display (``devices.display``) from a :class:`CounterBoard`.

The board says what should be shown; this sends the frames: ``SHOW <ticket> <nn>`` plus
``BLINK`` for a new call or a recall, ``CLEAR`` when the counter has nobody. A display that is
unplugged logs once and is brought up to date by the next change (``LedDisplay`` reconnects).
"""

from __future__ import annotations

import logging
import re
import threading

from devices.display import LedDisplay, open_display
from devices.errors import DeviceError

from .boards import CounterBoard

log = logging.getLogger(__name__)


def counter_number(counter: str, label: str = "") -> int:
    """The two digits an LED shows: the counter id if numeric, else the digits of its label."""
    for text in (counter, label):
        digits = re.findall(r"\d+", text or "")
        if digits and 1 <= int(digits[-1]) <= 99:
            return int(digits[-1])
    raise ValueError(f"counter {counter!r} ({label!r}) has no number 1..99 an LED can show")


class LedCounterDisplay:
    def __init__(self, board: CounterBoard, display: LedDisplay | str, *, blinks: int = 3) -> None:
        self.board = board
        self.display = open_display(display) if isinstance(display, str) else display
        self.blinks = blinks
        self.ok = False
        self._shown: tuple[str | None, int] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self.display.open()
        self.ok = True
        self.board.listen(self.refresh)
        self.refresh()

    def stop(self) -> None:
        self.display.close()

    def refresh(self) -> None:
        board = self.board
        with self._lock:
            wanted = (board.ticket if board.status != "closed" else None, board.blinks)
            if wanted == self._shown:
                return
            ticket, blinks = wanted
            try:
                if ticket is None:
                    self.display.clear()
                else:
                    new = self._shown is not None and blinks != self._shown[1]
                    self.display.show_call(ticket, counter_number(board.counter, board.label),
                                           new=new, blinks=self.blinks)
            except (DeviceError, ValueError) as err:
                if self.ok:
                    log.error("LED display %s: %s", getattr(self.display.url, "raw", ""), err)
                self.ok = False
                return
            self.ok = True
            self._shown = wanted
