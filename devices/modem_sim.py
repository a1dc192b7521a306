"""A GSM modem that speaks AT commands, in software: the far end of the ``sim://`` modem and of the
pseudo-terminal tests and benchmark (after OctoPrint's virtual printer).

:class:`AtModemSimulator` is pure: bytes go in with :meth:`feed`, the modem's answer comes out of
:meth:`take`. It knows the dialogue a USB 3G/4G dongle speaks in SMS text mode::

    AT            → OK                    ATE0 / ATE1   → OK (echo off / on)
    AT+CMEE=1     → OK                    AT+CMGF=1     → OK (text mode; 0 = PDU is refused)
    AT+CSCS="IRA" → OK                    AT+CPIN?      → +CPIN: READY | +CME ERROR: 10
    AT+CSQ        → +CSQ: 21,99 (99,99 without signal)
    AT+CREG?      → +CREG: 0,1 (0,2 searching without signal)
    AT+CMGS="+84912345678"  → "\\r\\n> "  then the text, ended by Ctrl-Z (0x1A; ESC 0x1B cancels)
                            → +CMGS: <reference> OK | +CMS ERROR: <code>

Scripted faults (``fault=``), each counted per SMS submitted (``after=`` / ``clear_after=`` as in
:mod:`devices.sim`):

* ``no_sim`` — SIM card missing: ``+CPIN?`` → ``+CME ERROR: 10``, ``+CMGS`` → ``+CMS ERROR: 310``;
* ``no_signal`` — no network: ``+CSQ: 99,99``, ``+CREG: 0,2``, ``+CMGS`` → ``+CMS ERROR: 331``;
* ``queue_full`` — the modem's message store is full: ``+CMGS`` → ``+CMS ERROR: 322``;
* ``stall`` — the modem stops answering in the middle of a message: it takes the text and never
  says ``+CMGS`` (nor anything else) until it is sent ESC or reopened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CTRL_Z = b"\x1a"
ESC = b"\x1b"
MODEM_FAULTS = ("no_sim", "no_signal", "queue_full", "stall")


@dataclass
class SentSms:
    to: str
    text: str
    reference: int


@dataclass
class AtModemSimulator:
    fault: str | None = None
    after: int = 0
    clear_after: int | None = None
    echo: bool = True
    """Real dongles echo commands until ``ATE0``; the adapter must cope with both."""
    sent: list[SentSms] = field(default_factory=list)
    submitted: int = 0
    hits: int = 0
    stalled: bool = False
    _text_mode: bool = False
    _buffer: bytearray = field(default_factory=bytearray)
    _out: bytearray = field(default_factory=bytearray)
    _recipient: str | None = None
    _reference: int = 0

    # -- the byte stream -------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        for byte in data:
            self._byte(bytes([byte]))

    def take(self) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    def reset(self) -> None:
        """The port was closed and opened again (a stalled dongle answers after a re-plug)."""
        self.stalled = False
        self._buffer.clear()
        self._recipient = None

    def _byte(self, b: bytes) -> None:
        if self.stalled:
            if b == ESC:  # what revives a hung dongle short of a re-plug
                self.stalled = False
            return
        if self._recipient is not None:  # collecting the text after the "> " prompt
            if b == CTRL_Z:
                self._submit(self._buffer.decode("latin-1"))
            elif b == ESC:
                self._buffer.clear()
                self._recipient = None
                self._say("OK")
            else:
                self._buffer += b
            return
        if self.echo:
            self._out += b
        if b == b"\r":
            line = self._buffer.decode("latin-1").strip()
            self._buffer.clear()
            if line:
                self._command(line)
        elif b != b"\n":
            self._buffer += b

    def _say(self, *lines: str) -> None:
        for line in lines:
            self._out += b"\r\n" + line.encode("latin-1") + b"\r\n"

    # -- faults ----------------------------------------------------------------------------------
    def _current_fault(self) -> str | None:
        if self.fault is None or self.submitted < self.after:
            return None
        if self.clear_after is not None and self.hits >= self.clear_after:
            return None
        return self.fault

    # -- commands --------------------------------------------------------------------------------
    def _command(self, line: str) -> None:
        upper = line.upper()
        fault = self._current_fault()
        if upper == "AT":
            self._say("OK")
        elif upper in ("ATE0", "ATE1"):
            self.echo = upper == "ATE1"
            self._say("OK")
        elif upper.startswith("AT+CMEE="):
            self._say("OK")
        elif upper == "AT+CMGF=1":
            self._text_mode = True
            self._say("OK")
        elif upper == "AT+CMGF=0":
            self._text_mode = False
            self._say("OK")
        elif upper.startswith("AT+CSCS="):
            self._say("OK")
        elif upper == "AT+CPIN?":
            self._say("+CME ERROR: 10") if fault == "no_sim" else self._say("+CPIN: READY", "OK")
        elif upper == "AT+CSQ":
            self._say("+CSQ: 99,99" if fault == "no_signal" else "+CSQ: 21,99", "OK")
        elif upper == "AT+CREG?":
            self._say("+CREG: 0,2" if fault == "no_signal" else "+CREG: 0,1", "OK")
        elif upper.startswith("AT+CMGS="):
            match = re.fullmatch(r'AT\+CMGS="(\+?[0-9]{3,20})"(?:,(129|145))?', line, flags=re.I)
            if not self._text_mode:
                self._say("+CMS ERROR: 304")  # a number where a PDU length was expected
            elif match is None:
                self._say("+CMS ERROR: 305")
            else:
                self._recipient = match[1]
                self._out += b"\r\n> "
        else:
            self._say("ERROR")

    def _submit(self, text: str) -> None:
        to, self._recipient = self._recipient, None
        self._buffer.clear()
        fault = self._current_fault()
        self.submitted += 1
        if fault is not None:
            self.hits += 1
        if fault == "stall":
            self.stalled = True
            return
        if fault in ("no_sim", "no_signal", "queue_full"):
            self._say({"no_sim": "+CMS ERROR: 310", "no_signal": "+CMS ERROR: 331",
                       "queue_full": "+CMS ERROR: 322"}[fault])
            return
        self._reference = (self._reference + 1) % 256
        self.sent.append(SentSms(to or "", text, self._reference))
        self._say(f"+CMGS: {self._reference}", "OK")
