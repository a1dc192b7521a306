"""Receipt printer on python-escpos, chosen by URL, with errors that say what to do.

A job is encoded first into bytes with escpos' ``Dummy`` (byte-exact, profile-aware) and then
sent in one write to the transport backend (escpos ``Usb``/``Serial``/``Network``/``File`` or our
:class:`SimPrinter`).  Every library exception is translated at this boundary.

URL parameters (all optional): ``paper=80|58``, ``profile=<escpos profile>`` (default
``default``), ``qr=auto|native|image``, ``check_status=0|1`` (ask paper/online status before each
job; default 1 for ``sim``, 0 elsewhere because some printers never answer), ``timeout=<s>``,
``baudrate=`` (serial), plus the sim parameters in :mod:`devices.sim`.

After a transport failure the connection is dropped; the next job reconnects, so a printer that
was switched off and on again is used without restarting the program.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image

from . import _escpos as ep
from .errors import (
    DeviceDependencyMissing,
    DeviceError,
    LayoutError,
    PaperOut,
    PrinterError,
    PrinterOffline,
    PrinterTimeout,
)
from .layout import (
    ApologyView,
    Block,
    QrBlock,
    SlipView,
    TicketView,
    apology_blocks,
    paper_width,
    qr_image,
    slip_blocks,
    ticket_blocks,
)
from .sim import SIM_PARAMS, TRANSPORT_FAULTS, FaultScript
from .url import DeviceURL, Registry, parse_device_url

INIT = b"\x1b@"
ALIGN_LEFT, ALIGN_CENTER = b"\x1ba\x00", b"\x1ba\x01"
COMMON_PARAMS = ("paper", "profile", "qr", "check_status", "timeout")


@dataclass(frozen=True)
class PrinterStatus:
    """``online`` is None and ``paper`` is "unknown" when the transport cannot read status."""

    online: bool | None
    paper: str  # "ok" | "low" | "out" | "unknown"


class SimPrinter(ep.Escpos):
    """In-memory printer: records printed bytes in ``output``, answers status, plays faults."""

    def __init__(self, script: FaultScript, **kwargs) -> None:
        super().__init__(**kwargs)
        self.script = script
        self.jobs: list[bytes] = []
        self._query: bytes | None = None
        self.is_open = False

    @property
    def output(self) -> bytes:
        return b"".join(self.jobs)

    def open(self) -> None:
        fault = self.script.active(TRANSPORT_FAULTS)
        if fault == "offline":
            raise ep.escpos_errors.DeviceNotFoundError("simulated printer offline")
        self.script.raise_transport_fault(fault)
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def _raw(self, msg: bytes) -> None:
        if msg in (ep.RT_STATUS_ONLINE, ep.RT_STATUS_PAPER):
            self._query = msg  # a status query is answered, not printed
            return
        fault = self.script.active(TRANSPORT_FAULTS)
        self.script.raise_transport_fault(fault)
        self.jobs.append(msg)  # paper faults: a real printer would swallow the bytes too

    def _read(self) -> bytes:
        query, self._query = self._query, None
        if query == ep.RT_STATUS_ONLINE:  # the online+paper pair counts as one operation
            peeked = self.script.peek()
            if peeked in TRANSPORT_FAULTS:
                self.script.raise_transport_fault(self.script.active(TRANSPORT_FAULTS))
            return bytes([0x12])  # bit 3 clear: online
        fault = self.script.active()
        self.script.raise_transport_fault(fault)
        if fault == "paper_out":
            return bytes([ep.RT_MASK_NOPAPER])
        if fault == "paper_low":
            return bytes([ep.RT_MASK_LOWPAPER])
        return bytes([ep.RT_MASK_PAPER])


@contextlib.contextmanager
def _translated(url: str) -> Iterator[None]:
    """Library errors → our errors, ``raise ... from err``."""
    try:
        yield
    except DeviceError:
        raise
    except ep.escpos_errors.ImageWidthError as err:
        raise LayoutError(f"image wider than the printer profile allows: {err}", url=url) from err
    except ep.escpos_errors.DeviceNotFoundError as err:
        raise PrinterOffline(f"printer not reachable: {err}", url=url) from err
    except TimeoutError as err:  # socket.timeout, serial write timeout via OSError subclasses
        raise PrinterTimeout("printer did not answer in time", url=url) from err
    except OSError as err:  # ConnectionError, serial.SerialException, usb.core.USBError
        raise PrinterOffline(f"printer connection lost: {err}", url=url) from err
    except ep.escpos_errors.Error as err:
        raise PrinterError(f"printer error: {err}", url=url) from err


def _sim_backend(url: DeviceURL, profile: str) -> ep.Escpos:
    return SimPrinter(FaultScript.from_url(url), profile=profile)


def _file_backend(url: DeviceURL, profile: str) -> ep.Escpos:
    return ep.File(devfile=url.path, profile=profile)


def _tcp_backend(url: DeviceURL, profile: str) -> ep.Escpos:
    timeout = url.get_float("timeout", 10.0, 0.1, 600)
    return ep.Network(host=url.host, port=url.port or 9100, timeout=timeout, profile=profile)


def _serial_backend(url: DeviceURL, profile: str) -> ep.Escpos:
    return ep.Serial(devfile=url.path, baudrate=url.get_int("baudrate", 9600, 50, 4_000_000),
                     timeout=url.get_float("timeout", 2.0, 0.01, 600), profile=profile)


def _usb_backend(url: DeviceURL, profile: str) -> ep.Escpos:
    if not ep.Usb.is_usable():
        raise DeviceDependencyMissing(
            "usb:// printers need pyusb, which is not installed: .venv/bin/pip install 'motcua[devices]' "
            "(and apt-get install libusb-1.0-0), or use a serial:// or tcp:// printer URL", url=url.raw)
    vid, pid = url.usb_ids()
    return ep.Usb(vid, pid, timeout=int(url.get_float("timeout", 2.0, 0.01, 600) * 1000), profile=profile)


BACKENDS: dict[str, tuple] = {
    "sim": (_sim_backend, SIM_PARAMS),
    "file": (_file_backend, ()),
    "tcp": (_tcp_backend, ()),
    "serial": (_serial_backend, ("baudrate",)),
    "usb": (_usb_backend, ()),
}


class ReceiptPrinter:
    """A receipt printer. Construction parses the URL only; ``open()`` connects."""

    def __init__(self, url: str | DeviceURL) -> None:
        self.url = url if isinstance(url, DeviceURL) else parse_device_url(url)
        factory, extra = BACKENDS[self.url.scheme]
        self.url.check_params(COMMON_PARAMS + extra)
        self.paper = int(self.url.get_choice("paper", "80", ("80", "58")))
        self.profile_name = self.url.params.get("profile", "default")
        try:
            profile = ep.Dummy(profile=self.profile_name).profile
        except KeyError as err:
            raise self.url.error(f"unknown escpos profile {self.profile_name!r}") from err
        qr_mode = self.url.get_choice("qr", "auto", ("auto", "native", "image"))
        self.native_qr = qr_mode == "native" or (qr_mode == "auto" and bool(profile.supports("qrCode")))
        default_check = "1" if self.url.scheme == "sim" else "0"
        self.check_status = self.url.get_choice("check_status", default_check, ("0", "1")) == "1"
        # Built now (validates backend parameters; escpos constructors do no I/O) and kept for
        # the printer's lifetime, so a sim's recorded output and fault script survive reconnects.
        self.backend: ep.Escpos = factory(self.url, self.profile_name)
        self._connected = False
        self._wanted_open = False

    # -- connection -------------------------------------------------------------------------
    def open(self) -> None:
        """Connect. On failure the error is raised, but later jobs keep trying to reconnect."""
        self._wanted_open = True
        self._connect()

    def close(self) -> None:
        self._wanted_open = False
        self._drop()

    def __enter__(self) -> ReceiptPrinter:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _connect(self) -> ep.Escpos:
        if not self._wanted_open:
            raise PrinterError("printer is not open; call open() first", url=self.url.raw)
        if not self._connected:
            with _translated(self.url.raw):
                self.backend.open()
            self._connected = True
        return self.backend

    def _drop(self) -> None:
        if self._connected:
            self._connected = False
            with contextlib.suppress(Exception):
                self.backend.close()

    @contextlib.contextmanager
    def _session(self) -> Iterator[ep.Escpos]:
        backend = self._connect()
        try:
            with _translated(self.url.raw):
                yield backend
        except (PrinterOffline, PrinterTimeout):
            self._drop()  # reconnect on the next job
            raise

    # -- status and jobs --------------------------------------------------------------------
    def status(self) -> PrinterStatus:
        """Online and paper state, where the transport can read them (file:// cannot)."""
        if type(self.backend)._read is ep.Escpos._read:  # write-only transport (file://)
            return PrinterStatus(online=None, paper="unknown")
        with self._session() as backend:
            online_raw = backend.query_status(ep.RT_STATUS_ONLINE)
            paper_raw = backend.query_status(ep.RT_STATUS_PAPER)
        online = None if not online_raw else not (online_raw[0] & ep.RT_MASK_ONLINE)
        if not paper_raw:
            paper = "unknown"
        elif paper_raw[0] & ep.RT_MASK_NOPAPER == ep.RT_MASK_NOPAPER:
            paper = "out"
        elif paper_raw[0] & ep.RT_MASK_LOWPAPER == ep.RT_MASK_LOWPAPER:
            paper = "low"
        else:
            paper = "ok"
        return PrinterStatus(online=online, paper=paper)

    def _dummy(self) -> ep.Dummy:
        """An encoder with this printer's profile; an unknown media width becomes the paper's."""
        dummy = ep.Dummy(profile=self.profile_name)
        media = copy.deepcopy(dummy.profile.profile_data["media"])
        if media["width"].get("pixels") in (None, "Unknown"):
            media["width"]["pixels"] = paper_width(self.paper)
        dummy.profile.profile_data = {**dummy.profile.profile_data, "media": media}
        return dummy

    def encode(self, blocks: list[Block], *, cut: bool = True) -> bytes:
        """The exact bytes of a job (pure: no I/O). Images are thresholded, never dithered."""
        dummy = self._dummy()
        dummy._raw(INIT)
        width = paper_width(self.paper)
        with _translated(self.url.raw):
            for block in blocks:
                if isinstance(block, QrBlock):
                    if self.native_qr:
                        dummy._raw(ALIGN_CENTER)
                        dummy.qr(block.data, ec=ep.QR_ECLEVEL_M, size=block.module, native=True)
                        dummy._raw(ALIGN_LEFT)
                        continue
                    block = _centred(qr_image(block.data, block.module), width)
                dummy.image(_one_bit(block), impl="bitImageRaster")
            if cut:
                dummy.cut()
        return dummy.output

    def print_blocks(self, blocks: list[Block], *, cut: bool = True) -> int:
        """Print a layout; returns the number of bytes sent. Raises PaperOut before printing."""
        job = self.encode(blocks, cut=cut)
        if self.check_status and self.status().paper == "out":
            raise PaperOut("printer is out of paper", url=self.url.raw)
        with self._session() as backend:
            backend._raw(job)
        return len(job)

    def print_ticket(self, view: TicketView) -> int:
        return self.print_blocks(ticket_blocks(view, self.paper))

    def print_slip(self, view: SlipView) -> int:
        return self.print_blocks(slip_blocks(view, self.paper))

    def print_apology(self, view: ApologyView) -> int:
        return self.print_blocks(apology_blocks(view, self.paper))

    def print_form(self, view) -> int:
        """A 2025 form (``devices.forms.FormView`` 02–06, or a ``BookView`` for 07)."""
        from .forms import BookView, book_blocks, form_blocks

        blocks = book_blocks(view, self.paper) if isinstance(view, BookView) else form_blocks(view, self.paper)
        return self.print_blocks(blocks)

    def print_image(self, image: Image.Image, *, cut: bool = True) -> int:
        return self.print_blocks([image], cut=cut)

    def cut(self) -> None:
        dummy = self._dummy()
        dummy.cut()
        with self._session() as backend:
            backend._raw(dummy.output)


def _one_bit(image: Image.Image) -> Image.Image:
    grey = image.convert("L")
    return grey.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)


def _centred(image: Image.Image, width: int) -> Image.Image:
    canvas = Image.new("L", (width, image.height), 255)
    canvas.paste(image, ((width - image.width) // 2, 0))
    return canvas


printers: Registry[ReceiptPrinter] = Registry("printer")
for _scheme in BACKENDS:
    printers.register(_scheme, ReceiptPrinter)


def open_printer(url: str) -> ReceiptPrinter:
    """Build (not connect) the printer for ``url``; raises DeviceConfigError on a bad URL."""
    return printers.create(url)
