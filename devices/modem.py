"""SMS through a USB 3G/4G dongle that speaks AT commands over a serial line, and its ``sim://``.

URLs: ``serial:///dev/ttyUSB2?baudrate=115200&timeout=5&send_timeout=60`` (the dongle's AT port;
``timeout`` bounds each command, ``send_timeout`` the wait for the network's ``+CMGS``), or
``sim://?fault=no_sim|no_signal|queue_full|stall|offline&after=N&clear_after=N&timeout=1``
(:mod:`devices.modem_sim` in memory; ``delay_ms=`` makes the network slow, ``log=/path`` appends
each accepted message as a JSON line so another process can see it).

The dialogue is SMS *text mode* (``AT+CMGF=1``, character set ``IRA``): one message of at most 160
characters from the GSM 7-bit basic set, so it fits one SMS on every phone and network. Text mode
cannot send UCS-2 or concatenated messages without PDU encoding; callers write short ASCII text
(:func:`check_sms_text` refuses the rest instead of mangling it).

What a failure means for the message is on the error: ``maybe_sent`` is True only when the text
was already handed to the modem (the Ctrl-Z went out) and its answer never came. The sender uses
it to never send the same notice twice.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .errors import DeviceError, DeviceOffline, DeviceTimeout
from .modem_sim import CTRL_Z, ESC, MODEM_FAULTS, AtModemSimulator
from .sim import SIM_PARAMS, FaultScript
from .url import DeviceURL, Registry, parse_device_url

MAX_SMS = 160
_SAFE = re.compile(r"[ !\"#%&'()*+,\-./0-9:;<=>?@A-Z_a-z$\n]*")
"""Printable ASCII that the GSM 7-bit basic alphabet holds (no ``[]{}\\^~|`` which cost two
septets and some phones show wrongly, no backquote)."""
_NUMBER = re.compile(r"\+?[0-9]{3,15}")
_FINAL = re.compile(r"OK|ERROR|\+CM[SE] ERROR: ?(\d+)|NO CARRIER", re.I)


class ModemError(DeviceError):
    code = "modem.error"
    key = "modem.error"
    maybe_sent = False


class ModemOffline(ModemError, DeviceOffline):
    """The port cannot be opened (dongle unplugged, wrong path, port busy). Retry."""

    code = "modem.offline"
    key = "modem.offline"
    retryable = True


class ModemTimeout(ModemError, DeviceTimeout):
    """The modem stopped answering. ``maybe_sent`` says whether the text was already handed over."""

    code = "modem.timeout"
    key = "modem.timeout"
    retryable = True

    def __init__(self, message: str, *, url: str | None = None, maybe_sent: bool = False) -> None:
        super().__init__(message, url=url)
        self.maybe_sent = maybe_sent


class NoSim(ModemError):
    """No SIM card, or it is locked by a PIN. Someone must insert or unlock it."""

    code = "modem.no_sim"
    key = "modem.no_sim"


class NoSignal(ModemError):
    """The modem has no network (no coverage, antenna, or the SIM has no service). Retry later."""

    code = "modem.no_signal"
    key = "modem.no_signal"
    retryable = True


class ModemQueueFull(ModemError):
    """The modem's (or network's) message store is full or congested. Retry later."""

    code = "modem.queue_full"
    key = "modem.queue_full"
    retryable = True


class SmsRejected(ModemError):
    """The modem or network refused this message (``+CMS ERROR`` other than the above). Give up."""

    code = "modem.rejected"
    key = "modem.rejected"


# +CMS ERROR codes (3GPP TS 27.005 §3.2.5 and the network's RP causes below 128)
_CMS = {
    310: (NoSim, "SIM card not inserted"), 311: (NoSim, "SIM PIN required"), 312: (NoSim, "SIM PUK required"),
    313: (NoSim, "SIM failure"), 316: (NoSim, "SIM PUK2 required"), 317: (NoSim, "SIM PIN2 required"),
    322: (ModemQueueFull, "memory full"), 42: (ModemQueueFull, "network congestion"),
    331: (NoSignal, "no network service"), 332: (NoSignal, "network timeout"), 38: (NoSignal, "network out of order"),
    330: (SmsRejected, "SMSC address unknown (set it with AT+CSCA)"), 304: (SmsRejected, "invalid PDU mode parameter"),
    305: (SmsRejected, "invalid text mode parameter"), 302: (SmsRejected, "operation not allowed"),
    21: (SmsRejected, "short message transfer rejected"), 1: (SmsRejected, "unassigned number"),
    500: (NoSignal, "unknown error"),
}
_CME = {10: (NoSim, "SIM not inserted"), 11: (NoSim, "SIM PIN required"), 13: (NoSim, "SIM failure"),
        30: (NoSignal, "no network service")}


def check_sms_text(text: str) -> None:
    """Raise ValueError unless ``text`` is one SMS of GSM-safe ASCII (see the module docstring)."""
    if not text or len(text) > MAX_SMS:
        raise ValueError(f"an SMS holds 1..{MAX_SMS} characters, got {len(text)}")
    if not _SAFE.fullmatch(text):
        bad = sorted({c for c in text if not _SAFE.fullmatch(c)})
        raise ValueError(f"SMS text must be GSM 7-bit ASCII (Vietnamese without diacritics); refused: {bad!r}")


def check_number(to: str) -> str:
    number = re.sub(r"[ .\-()]", "", to or "")
    if not _NUMBER.fullmatch(number):
        raise ValueError(f"not a phone number: {to!r} (digits, optionally with a leading +)")
    return number


@dataclass(frozen=True)
class ModemStatus:
    sim_ready: bool
    signal: int | None
    """``+CSQ`` RSSI 0..31 (about -113..-51 dBm); None when unknown (99)."""
    registered: bool


class SmsModem:
    """An AT modem. Construction parses the URL only; ``open()`` opens the port and sets text mode."""

    def __init__(self, url: DeviceURL, *, timeout: float, send_timeout: float) -> None:
        self.url = url
        self.timeout = url.get_float("timeout", timeout, 0.01, 120)
        self.send_timeout = url.get_float("send_timeout", send_timeout, 0.01, 600)
        self._rx = bytearray()
        self._open_now = False
        self._needs_reset = False

    # transports implement these; library errors are OSError / TimeoutError
    def _open(self) -> None: ...
    def _close(self) -> None: ...
    def _write(self, data: bytes) -> None: ...
    def _read(self, wait: float) -> bytes:
        """What arrived within ``wait`` seconds (b"" if nothing)."""
        ...

    # -- life cycle -----------------------------------------------------------------------------
    def open(self) -> None:
        with self._translated():
            self._open()
        self._open_now = True
        try:
            self._init()
        except DeviceError:
            self.close()
            raise

    def close(self) -> None:
        if self._open_now:
            self._open_now = False
            with contextlib.suppress(OSError):
                self._close()

    def __enter__(self) -> SmsModem:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _init(self) -> None:
        """Cancel a half-typed message (ESC), then: answer?, echo off, numeric errors, text mode."""
        self._rx.clear()
        with self._translated():
            self._write(ESC + b"\r")
        self._drain(0.05)
        for attempt in range(3):
            try:
                self._command("AT")
                break
            except ModemTimeout:
                if attempt == 2:
                    raise
        for command in ("ATE0", "AT+CMEE=1", "AT+CMGF=1", 'AT+CSCS="IRA"'):
            self._command(command)
        self._needs_reset = False

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except TimeoutError as err:
            raise ModemTimeout(f"modem did not take data in time: {err}", url=self.url.raw) from err
        except OSError as err:  # includes serial.SerialException
            self._needs_reset = True
            raise ModemOffline(f"modem not reachable: {err}", url=self.url.raw) from err

    # -- the dialogue ---------------------------------------------------------------------------
    def _drain(self, wait: float) -> None:
        with self._translated():
            self._read(wait)
        self._rx.clear()

    def _fill(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        with self._translated():
            chunk = self._read(min(remaining, 0.5))
        self._rx += chunk
        return True

    def _lines(self) -> list[str]:
        """Complete lines received so far (removed from the buffer), blanks dropped."""
        text = self._rx.decode("latin-1")
        *complete, rest = re.split(r"\r\n|\r|\n", text)
        self._rx = bytearray(rest.encode("latin-1"))
        return [line.strip() for line in complete if line.strip()]

    def _command(self, command: str, timeout: float | None = None) -> list[str]:
        """Send one command; return its information lines; raise on ERROR or silence."""
        with self._translated():
            self._write(command.encode("ascii") + b"\r")
        return self._until_final(command, time.monotonic() + (timeout or self.timeout))

    def _until_final(self, command: str, deadline: float, maybe_sent: bool = False) -> list[str]:
        lines: list[str] = []
        while True:
            for line in self._lines():
                if line.upper() == command.upper():
                    continue  # echo (before ATE0 took effect)
                final = _FINAL.fullmatch(line)
                if final is None:
                    lines.append(line)
                    continue
                if line.upper() == "OK":
                    return lines
                raise self._error(line, final[1], command)
            if not self._fill(deadline):
                self._needs_reset = True
                what = "after the text was handed over" if maybe_sent else "to " + command
                raise ModemTimeout(f"modem stopped answering {what}", url=self.url.raw, maybe_sent=maybe_sent)

    def _error(self, line: str, number: str | None, command: str) -> ModemError:
        table = _CME if "CME" in line.upper() else _CMS
        cls, meaning = table.get(int(number), (SmsRejected, "refused")) if number else (SmsRejected, "refused")
        return cls(f"{line} ({meaning}) answering {command}", url=self.url.raw)

    def status(self) -> ModemStatus:
        self._ensure_ready()
        try:
            sim = any("READY" in line.upper() for line in self._command("AT+CPIN?"))
        except NoSim:
            sim = False
        signal = None
        for line in self._command("AT+CSQ"):
            match = re.match(r"\+CSQ: *(\d+)", line)
            if match and int(match[1]) != 99:
                signal = int(match[1])
        registered = any(re.match(r"\+CREG: *\d+, *[15]\b", line) for line in self._command("AT+CREG?"))
        return ModemStatus(sim, signal, registered)

    def _ensure_ready(self) -> None:
        if not self._open_now:
            raise DeviceError("modem is not open; call open() first", url=self.url.raw)
        if self._needs_reset:  # after silence or a transport error: reopen, as a person would re-plug
            with contextlib.suppress(OSError):
                self._close()
            with self._translated():
                self._open()
            self._init()

    def send_sms(self, to: str, text: str, before_handoff: Callable[[], None] | None = None) -> int:
        """Send one SMS; return the network's message reference (``+CMGS: n``).

        ``before_handoff`` runs after the modem's ``>`` prompt, right before the text and Ctrl-Z go
        out: from then on a silence means the message may have been sent. If it raises, the
        message is cancelled (ESC) and the exception passes through.
        """
        number = check_number(to)
        check_sms_text(text)
        self._ensure_ready()
        command = f'AT+CMGS="{number}"'
        with self._translated():
            self._write(command.encode("ascii") + b"\r")
        deadline = time.monotonic() + self.timeout
        while b">" not in self._rx:
            for line in self._lines():
                final = _FINAL.fullmatch(line)
                if final is not None and line.upper() != "OK":
                    raise self._error(line, final[1], command)
            if b">" in self._rx:
                break
            if not self._fill(deadline):
                self._needs_reset = True
                raise ModemTimeout("modem gave no '>' prompt for the text", url=self.url.raw)
        self._rx.clear()
        if before_handoff is not None:
            try:
                before_handoff()
            except BaseException:
                with contextlib.suppress(DeviceError), self._translated():
                    self._write(ESC)
                self._needs_reset = True
                raise
        with self._translated():
            self._write(text.encode("ascii") + CTRL_Z)
        lines = self._until_final("AT+CMGS", time.monotonic() + self.send_timeout, maybe_sent=True)
        for line in lines:
            match = re.match(r"\+CMGS: *(\d+)", line)
            if match:
                return int(match[1])
        raise SmsRejected(f"modem said OK without a message reference: {lines!r}", url=self.url.raw)


class SerialModem(SmsModem):
    def __init__(self, url: DeviceURL) -> None:
        url.check_params(("baudrate", "timeout", "send_timeout"))
        super().__init__(url, timeout=5.0, send_timeout=60.0)
        self.baudrate = url.get_int("baudrate", 115200, 50, 4_000_000)
        self._port = None

    def _open(self) -> None:
        import serial

        try:
            self._port = serial.Serial(self.url.path, self.baudrate, timeout=0, write_timeout=self.timeout,
                                       exclusive=True)
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

    def _read(self, wait: float) -> bytes:
        self._port.timeout = wait
        first = self._port.read(1)
        if not first:
            return b""
        self._port.timeout = 0
        return first + self._port.read(4096)


class SimModem(SmsModem):
    """:class:`~devices.modem_sim.AtModemSimulator` in memory; ``sent`` lists what it accepted."""

    def __init__(self, url: DeviceURL) -> None:
        url.check_params((*SIM_PARAMS, "timeout", "send_timeout", "delay_ms", "log"))
        super().__init__(url, timeout=1.0, send_timeout=1.0)
        fault = url.params.get("fault") or None
        allowed = (*MODEM_FAULTS, "offline")
        if fault is not None and fault not in allowed:
            raise url.error(f"parameter fault={fault!r} must be one of {', '.join(allowed)}")
        self.transport = FaultScript.from_url(url, allowed=allowed)
        modem_fault = None if fault == "offline" else fault
        self.sim = AtModemSimulator(fault=modem_fault, after=self.transport.after,
                                    clear_after=self.transport.clear_after)
        self.delay_s = url.get_int("delay_ms", 0, 0, 600_000) / 1000
        self.log_path = url.params.get("log") or None
        self._logged = 0

    @property
    def sent(self):
        return self.sim.sent

    def _open(self) -> None:
        self.transport.raise_transport_fault(self.transport.active(("offline",)))
        self.sim.reset()

    def _close(self) -> None:
        pass

    def _write(self, data: bytes) -> None:
        if CTRL_Z in data and self.delay_s:
            time.sleep(self.delay_s)
        self.sim.feed(data)
        if self.log_path and len(self.sim.sent) > self._logged:
            with open(self.log_path, "a", encoding="utf-8") as log:
                for sms in self.sim.sent[self._logged:]:
                    log.write(json.dumps({"to": sms.to, "text": sms.text, "reference": sms.reference}) + "\n")
            self._logged = len(self.sim.sent)

    def _read(self, wait: float) -> bytes:
        out = self.sim.take()
        if not out:
            time.sleep(min(wait, 0.01))
        return out


modems: Registry[SmsModem] = Registry("modem")
modems.register("serial", SerialModem)
modems.register("sim", SimModem)


def open_modem(url: str) -> SmsModem:
    """Build (not open) the modem for ``url``; raises DeviceConfigError on a bad URL."""
    return modems.create(parse_device_url(url))
