"""A modem on a pseudo-terminal: :class:`devices.modem_sim.AtModemSimulator` answers on the master
side of ``os.openpty()``, so ``serial:///dev/pts/N`` is a real serial port to the adapter (and to a
server process) with a real AT dialogue on it."""

from __future__ import annotations

import os
import select
import threading
import time
import tty

from devices.modem_sim import AtModemSimulator


class PtyModem:
    def __init__(self, simulator: AtModemSimulator | None = None) -> None:
        self.sim = simulator or AtModemSimulator()
        self.handoffs: list[float] = []
        """``time.perf_counter()`` when each Ctrl-Z (a message handed over) arrived."""
        self.received = bytearray()
        """Every byte the adapter wrote, for tests that check the exact dialogue."""
        self._master = self._slave = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lock = threading.Lock()

    @property
    def path(self) -> str:
        return os.ttyname(self._slave)

    @property
    def url(self) -> str:
        return f"serial://{self.path}?baudrate=115200"

    def start(self) -> "PtyModem":
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no line discipline: \r, Ctrl-Z and ESC pass as bytes
        self._thread = threading.Thread(target=self._run, name="pty-modem", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def __enter__(self) -> "PtyModem":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                continue  # no one has the slave open right now
            arrived = time.perf_counter()
            with self.lock:
                self.handoffs += [arrived] * data.count(b"\x1a")
                self.received += data
                self.sim.feed(data)
                out = self.sim.take()
            if out:
                os.write(self._master, out)
