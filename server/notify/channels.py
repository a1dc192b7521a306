"""The notifier interface and its backends: the centre's own GSM modem first, Zalo OA (ZNS) second.

A channel turns a :class:`Notice` into one message on its medium and answers a reference, or
raises :class:`DeliveryError` saying whether to try again and whether the message may already
have gone out (``maybe_sent``): the sender never sends a notice again once that is possible.

* :class:`SmsChannel` — ``MOTCUA_NOTIFY_MODEM`` (``serial:///dev/ttyUSB2?baudrate=115200``, or
  ``sim://…``): works with the centre's internet down.
* :class:`ZaloZnsSim` — ``MOTCUA_NOTIFY_ZALO=sim://`` (``?fault=offline|quota|not_follower``): a
  simulation of Zalo's notification service (ZNS). The real one needs the internet, an official
  account and an approved template; it is not shipped. Only the simulated one exists to show the
  interface holds for a second channel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from devices.errors import DeviceConfigError, DeviceError
from devices.modem import SmsModem, open_modem
from devices.url import parse_device_url
from server.domain.notices import sms_text


@dataclass(frozen=True)
class Notice:
    number: str  # the ticket, e.g. A023
    ahead: int
    centre: str
    track_url: str | None
    phone: str  # +84…
    text: str | None = None
    """A message of its own (a verification code, a reminder) instead of the turn-is-near text."""


class DeliveryError(Exception):
    def __init__(self, code: str, message: str, *, retryable: bool, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.code, self.retryable, self.maybe_sent = code, retryable, maybe_sent


class Notifier(Protocol):
    name: str

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def send(self, notice: Notice, before_handoff: Callable[[], None]) -> str: ...


class SmsChannel:
    """One modem, one message at a time (a dongle has one AT port); reopened after any fault."""

    name = "sms"

    def __init__(self, modem_url: str) -> None:
        self.modem: SmsModem = open_modem(modem_url)  # parses only: a bad URL fails at start-up
        self._lock = threading.Lock()
        self._open = False

    def start(self) -> None:
        pass  # opened at the first message, so a server starts with the dongle unplugged

    def stop(self) -> None:
        with self._lock:
            self.modem.close()
            self._open = False

    def send(self, notice: Notice, before_handoff: Callable[[], None]) -> str:
        text = notice.text or sms_text(notice.number, notice.ahead, notice.centre, notice.track_url)
        with self._lock:
            try:
                if not self._open:
                    self.modem.open()
                    self._open = True
                return str(self.modem.send_sms(notice.phone, text, before_handoff))
            except DeviceError as err:
                raise DeliveryError(err.code, str(err), retryable=err.retryable,
                                    maybe_sent=getattr(err, "maybe_sent", False)) from err
            except ValueError as err:
                raise DeliveryError("sms.text", str(err), retryable=False) from err


class ZaloZnsSim:
    """Zalo ZNS, simulated: template ``turn_near`` with {number, ahead, centre}; records ``sent``."""

    name = "zalo"
    FAULTS = ("offline", "quota", "not_follower")

    def __init__(self, url: str) -> None:
        parsed = parse_device_url(url)
        if parsed.scheme != "sim":
            raise DeviceConfigError(f"only the simulated Zalo channel exists (sim://), not {url!r}", url=url)
        parsed.check_params(("fault",))
        self.fault = parsed.get_choice("fault", "", ("", *self.FAULTS)) or None
        self.sent: list[dict] = []
        self._ids = 0

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def send(self, notice: Notice, before_handoff: Callable[[], None]) -> str:
        if self.fault == "offline":  # no internet: the request never left
            raise DeliveryError("zalo.offline", "Zalo cannot be reached (internet down)", retryable=True)
        before_handoff()
        if self.fault == "quota":
            raise DeliveryError("zalo.quota", "ZNS daily quota used up", retryable=True)
        if self.fault == "not_follower":
            raise DeliveryError("zalo.not_follower", "this phone has no Zalo account", retryable=False)
        self._ids += 1
        if notice.text is not None:
            self.sent.append({"phone": notice.phone, "template": "text", "params": {"text": notice.text}})
        else:
            self.sent.append({"phone": notice.phone, "template": "turn_near",
                              "params": {"number": notice.number, "ahead": notice.ahead, "centre": notice.centre}})
        return f"zns-{self._ids}"


def build_notifier(modem_url: str | None, zalo_url: str | None) -> Notifier | None:
    """The modem when one is set (it works offline), else Zalo; None: notices off."""
    if modem_url:
        return SmsChannel(modem_url)
    if zalo_url:
        return ZaloZnsSim(zalo_url)
    return None

