"""Card/QR readers: serial scanners, keyboard-wedge scanners and a sim, all feeding one parser.

Whatever the transport, a scan ends up as one of the events in :mod:`devices.cccd`:
``CardScanned`` (a valid CCCD), ``TextScanned`` (anything else, e.g. a ticket's tracking URL) or
``ScanRejected`` (a CCCD that failed, an over-long or undecodable line).  The reader keeps
nothing once an event is handed over.

Framing: a scan ends at CR or LF; a scanner configured without a terminator is handled by the
idle gap (``line_idle``, default 0.3 s without a byte ends the scan).  A line longer than
``max_line`` bytes is dropped (one ``ScanRejected("too_long")``) without buffering the rest.

``serial:///dev/ttyACM0?baudrate=9600&line_idle=0.3&max_line=2048`` or
``sim://?scans=<payload>%0A<payload>&fault=offline&clear_after=1``.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterator

from .cccd import BAD_ENCODING, TOO_LONG, ScanEvent, ScanRejected, classify_scan
from .errors import DeviceOffline
from .sim import SIM_PARAMS, FaultScript
from .url import DeviceURL, Registry, parse_device_url

MAX_LINE = 2048
_BYTES_EOL = re.compile(rb"[\r\n]")
_TEXT_EOL = re.compile(r"[\r\n]")


class ReaderOffline(DeviceOffline):
    code = "reader.offline"
    key = "reader.offline"


class _Framer:
    """Split a stream into lines with a hard bound on memory; emit scan events."""

    def __init__(self, max_line: int, empty, eol: re.Pattern) -> None:
        self.max_line = max_line
        self._empty = empty
        self._eol = eol
        self._buf = empty
        self._discarding = False

    @property
    def pending(self) -> bool:
        return bool(self._buf)

    def feed(self, chunk) -> list[ScanEvent]:
        events: list[ScanEvent] = []
        *complete, rest = self._eol.split(chunk)
        for part in complete:
            line, self._buf = self._buf + part, self._empty
            if self._discarding:
                self._discarding = False
                continue
            self._emit(line, events)
        if self._discarding:
            return events
        self._buf += rest
        if len(self._buf) > self.max_line:
            self._buf, self._discarding = self._empty, True
            events.append(ScanRejected(TOO_LONG))
        return events

    def flush(self) -> list[ScanEvent]:
        """End the pending scan (idle gap): emit it as if a terminator had arrived."""
        line, self._buf = self._buf, self._empty
        events: list[ScanEvent] = []
        if not self._discarding:
            self._emit(line, events)
        self._discarding = False
        return events

    def _emit(self, line, events: list[ScanEvent]) -> None:
        if len(line) > self.max_line:
            events.append(ScanRejected(TOO_LONG))
            return
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                events.append(ScanRejected(BAD_ENCODING))
                return
        event = classify_scan(line)
        if event is not None:
            events.append(event)


class ByteFramer(_Framer):
    """Bytes from a serial scanner → events (UTF-8, invalid bytes rejected, never raised)."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        super().__init__(max_line, b"", _BYTES_EOL)


class WedgeFeeder(_Framer):
    """Text a keyboard-wedge scanner types into a window → events.

    The kiosk forwards key text (``feed("0")``, ``feed("\\n")``) or whole strings; Enter ends a
    scan. Call :meth:`flush` after an idle gap if the scanner sends no Enter.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        super().__init__(max_line, "", _TEXT_EOL)


class StreamReader:
    """Common read loop: reconnects after unplug, never blocks past ``timeout``."""

    poll = 0.05
    reconnect_every = 0.5

    def __init__(self, url: DeviceURL) -> None:
        self.url = url
        self.line_idle = url.get_float("line_idle", 0.3, 0.01, 10)
        self.framer = ByteFramer(url.get_int("max_line", MAX_LINE, 64, 65536))
        self._events: deque[ScanEvent] = deque()
        self._wanted_open = False
        self.connected = False
        self._last_byte = 0.0
        self._next_attempt = 0.0

    # transports implement these three
    def _open(self) -> None: ...
    def _close(self) -> None: ...
    def _read_chunk(self, wait: float) -> bytes: ...

    def open(self) -> None:
        self._wanted_open = True
        self._try_connect(force=True)
        if not self.connected:
            raise ReaderOffline("card reader not reachable", url=self.url.raw)

    def close(self) -> None:
        self._wanted_open = False
        self._disconnect()

    def __enter__(self) -> StreamReader:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _disconnect(self) -> None:
        if self.connected:
            self.connected = False
            try:
                self._close()
            except OSError:
                pass

    def _try_connect(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.connected or (not force and now < self._next_attempt):
            return
        self._next_attempt = now + self.reconnect_every
        try:
            self._open()
        except OSError:
            return
        self.connected = True

    def read(self, timeout: float = 1.0) -> ScanEvent | None:
        """The next scan event, or ``None`` after ``timeout`` seconds without one.

        Raises :class:`ReaderOffline` (retryable) if the reader stayed unreachable for the whole
        timeout; the next call tries to reconnect, so a replugged reader just works again.
        """
        if not self._wanted_open:
            raise ReaderOffline("card reader is not open; call open() first", url=self.url.raw)
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if self._events:
                return self._events.popleft()
            now = time.monotonic()
            if not self.connected:
                self._try_connect()
            if self.connected:
                self._pump(min(self.poll, max(0.0, deadline - now)))
            else:
                time.sleep(min(self.poll, max(0.0, deadline - now)))
            if self._events:
                continue
            if time.monotonic() >= deadline:
                if not self.connected:
                    raise ReaderOffline("card reader disconnected", url=self.url.raw)
                return None

    def _pump(self, wait: float) -> None:
        try:
            chunk = self._read_chunk(wait)
        except OSError:  # includes serial.SerialException: unplugged
            self._disconnect()
            self._next_attempt = time.monotonic() + self.reconnect_every
            self._events.extend(self.framer.flush())
            return
        now = time.monotonic()
        if chunk:
            self._last_byte = now
            self._events.extend(self.framer.feed(chunk))
        elif self.framer.pending and now - self._last_byte >= self.line_idle:
            self._events.extend(self.framer.flush())

    def events(self, timeout: float = 1.0) -> Iterator[ScanEvent | None]:
        """Endless generator for a reader thread: yields events, or None on each idle timeout."""
        while self._wanted_open:
            try:
                yield self.read(timeout)
            except ReaderOffline:
                yield None


class SerialReader(StreamReader):
    def __init__(self, url: DeviceURL) -> None:
        url.check_params(("baudrate", "line_idle", "max_line"))
        super().__init__(url)
        self.baudrate = url.get_int("baudrate", 9600, 50, 4_000_000)
        self._port = None

    def _open(self) -> None:
        import serial  # pyserial is a core dependency; imported here so import stays cheap

        try:
            self._port = serial.Serial(self.url.path, self.baudrate, timeout=self.poll)
        except (serial.SerialException, ValueError) as err:
            raise OSError(str(err)) from err

    def _close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def _read_chunk(self, wait: float) -> bytes:
        import serial

        assert self._port is not None
        try:  # blocks at most self.poll (set once at open: setting it costs a tcsetattr)
            return self._port.read(max(1, min(4096, self._port.in_waiting)))
        except (serial.SerialException, TypeError) as err:  # TypeError: pyserial on a closed fd
            raise OSError(str(err)) from err


class SimReader(StreamReader):
    """Plays ``scans`` (newline-separated) once opened; tests and demos can :meth:`push` bytes."""

    def __init__(self, url: DeviceURL) -> None:
        url.check_params(("scans", "line_idle", "max_line", *SIM_PARAMS))
        super().__init__(url)
        self.script = FaultScript.from_url(url, allowed=("offline",))
        scans = url.params.get("scans", "")
        self._pending = deque([scans.encode("utf-8") + b"\n"] if scans else [])

    def push(self, data: bytes) -> None:
        self._pending.append(data)

    def _open(self) -> None:
        if self.script.active() == "offline":
            raise ConnectionRefusedError(111, "simulated reader offline")

    def _close(self) -> None:
        pass

    def _read_chunk(self, wait: float) -> bytes:
        if self._pending:
            return self._pending.popleft()
        time.sleep(wait)
        return b""


readers: Registry[StreamReader] = Registry("card reader")
readers.register("serial", SerialReader)
readers.register("sim", SimReader)


def open_reader(url: str) -> StreamReader:
    """Build (not connect) the reader for ``url``; raises DeviceConfigError on a bad URL."""
    return readers.create(parse_device_url(url))
