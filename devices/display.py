"""LED counter display over a serial line (or TCP serial server), and its frame-recording sim.

Line protocol (write-only, ASCII, one frame per line ending in LF; the display ignores CR;
a frame is at most 32 bytes; unknown frames are ignored by the display):

    SHOW <ticket> <counter>   show a ticket and the counter, e.g. ``SHOW A023 03``
                              (ticket ``[A-Z0-9]{1,6}``, counter 1..99 as two digits)
    BLINK <n>                 blink what is shown n times (1..9); sent after SHOW on a new call,
                              not on a refresh or a recall-free redraw
    BRIGHT <level>            brightness 0 (off) .. 9 (full)
    CLEAR                     blank the display
    TEXT <text>               free text, printable ASCII, at most 16 characters (installer test)

LED modules have no Vietnamese glyphs, so :meth:`LedDisplay.text` refuses non-ASCII instead of
stripping diacritics.  Frames are sent whole in one write; after a transport failure the next
frame reconnects.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator

from .errors import DeviceError, DeviceOffline, DeviceTimeout
from .sim import SIM_PARAMS, TRANSPORT_FAULTS, FaultScript
from .url import DeviceURL, Registry, parse_device_url

MAX_FRAME = 32
MAX_TEXT = 16
_TICKET = re.compile(r"[A-Z0-9]{1,6}")
_PRINTABLE_ASCII = re.compile(r"[ -~]*")


class DisplayOffline(DeviceOffline):
    code = "display.offline"
    key = "display.offline"


class DisplayTimeout(DeviceTimeout):
    code = "display.timeout"
    key = "display.timeout"


def encode_frames(frames: list[str]) -> bytes:
    return b"".join(frame.encode("ascii") + b"\n" for frame in frames)


class LedDisplay:
    """Construction parses the URL only; ``open()`` connects."""

    def __init__(self, url: DeviceURL) -> None:
        self.url = url
        self._connected = False
        self._wanted_open = False

    # transports implement these
    def _open(self) -> None: ...
    def _close(self) -> None: ...
    def _write(self, data: bytes) -> None: ...

    def open(self) -> None:
        self._wanted_open = True
        with self._translated():
            self._open()
        self._connected = True

    def close(self) -> None:
        self._wanted_open = False
        if self._connected:
            self._connected = False
            with contextlib.suppress(OSError):
                self._close()

    def __enter__(self) -> LedDisplay:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except TimeoutError as err:
            raise DisplayTimeout("display did not accept data in time", url=self.url.raw) from err
        except OSError as err:  # includes serial.SerialException
            raise DisplayOffline(f"display not reachable: {err}", url=self.url.raw) from err

    def send(self, frames: list[str]) -> None:
        for frame in frames:
            if len(frame) > MAX_FRAME or not _PRINTABLE_ASCII.fullmatch(frame):
                raise ValueError(f"invalid display frame {frame!r}")
        if not self._wanted_open:
            raise DeviceError("display is not open; call open() first", url=self.url.raw)
        data = encode_frames(frames)
        try:
            with self._translated():
                if not self._connected:
                    self._open()
                    self._connected = True
                self._write(data)
        except DeviceError:
            self.close()
            self._wanted_open = True  # reconnect on the next frame
            raise

    # -- the protocol ------------------------------------------------------------------------
    def show_call(self, ticket: str, counter: int, *, new: bool = True, blinks: int = 3) -> None:
        if not _TICKET.fullmatch(ticket):
            raise ValueError(f"ticket {ticket!r} must be 1-6 characters A-Z 0-9")
        if not 1 <= counter <= 99:
            raise ValueError(f"counter {counter!r} must be 1..99")
        frames = [f"SHOW {ticket} {counter:02d}"]
        if new:
            if not 1 <= blinks <= 9:
                raise ValueError("blinks must be 1..9")
            frames.append(f"BLINK {blinks}")
        self.send(frames)

    def brightness(self, level: int) -> None:
        if not 0 <= level <= 9:
            raise ValueError(f"brightness {level!r} must be 0..9")
        self.send([f"BRIGHT {level}"])

    def clear(self) -> None:
        self.send(["CLEAR"])

    def text(self, text: str) -> None:
        if len(text) > MAX_TEXT or not _PRINTABLE_ASCII.fullmatch(text):
            raise ValueError(
                f"the LED display shows at most {MAX_TEXT} printable ASCII characters "
                f"(no Vietnamese diacritics): {text!r}")
        self.send([f"TEXT {text}"])


class SerialDisplay(LedDisplay):
    def __init__(self, url: DeviceURL) -> None:
        url.check_params(("baudrate", "timeout"))
        super().__init__(url)
        self.baudrate = url.get_int("baudrate", 9600, 50, 4_000_000)
        self.timeout = url.get_float("timeout", 2.0, 0.01, 60)
        self._port = None

    def _open(self) -> None:
        import serial

        try:
            self._port = serial.Serial(self.url.path, self.baudrate, write_timeout=self.timeout)
        except ValueError as err:
            raise OSError(str(err)) from err

    def _close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def _write(self, data: bytes) -> None:
        import serial

        try:
            self._port.write(data)
            self._port.flush()
        except serial.SerialTimeoutException as err:
            raise TimeoutError(str(err)) from err


class TcpDisplay(LedDisplay):
    """A display behind a serial-to-Ethernet converter (raw TCP)."""

    def __init__(self, url: DeviceURL) -> None:
        url.check_params(("timeout",))
        super().__init__(url)
        if url.port is None:
            raise url.error("tcp:// display needs a port, e.g. tcp://10.0.0.7:4001")
        self.timeout = url.get_float("timeout", 2.0, 0.01, 60)
        self._sock: socket.socket | None = None

    def _open(self) -> None:
        self._sock = socket.create_connection((self.url.host, self.url.port), timeout=self.timeout)

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _write(self, data: bytes) -> None:
        self._sock.sendall(data)


class FileDisplay(LedDisplay):
    """Appends frames to a file (or a FIFO): for demos and for inspecting the byte stream."""

    def __init__(self, url: DeviceURL) -> None:
        url.check_params(())
        super().__init__(url)
        self._file = None

    def _open(self) -> None:
        self._file = open(self.url.path, "ab")  # noqa: SIM115 — lives until close()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()


class SimDisplay(LedDisplay):
    """Records every frame in ``frames``; plays ``fault=offline|timeout`` scripts."""

    def __init__(self, url: DeviceURL) -> None:
        url.check_params(SIM_PARAMS)
        super().__init__(url)
        self.script = FaultScript.from_url(url, allowed=TRANSPORT_FAULTS)
        self.frames: list[str] = []

    def _open(self) -> None:
        self.script.raise_transport_fault(self.script.active())

    def _close(self) -> None:
        pass

    def _write(self, data: bytes) -> None:
        self.script.raise_transport_fault(self.script.active())
        self.frames.extend(data.decode("ascii").splitlines())


displays: Registry[LedDisplay] = Registry("display")
displays.register("serial", SerialDisplay)
displays.register("tcp", TcpDisplay)
displays.register("file", FileDisplay)
displays.register("sim", SimDisplay)


def open_display(url: str) -> LedDisplay:
    """Build (not connect) the display for ``url``; raises DeviceConfigError on a bad URL."""
    return displays.create(parse_device_url(url))
