"""One error family for every device, so callers decide what to do from the type alone.

Library exceptions (python-escpos, pyserial, socket) are translated where they are caught,
always with ``raise X from err`` so the original stays in the traceback.  Each class carries:

* ``code`` — a stable machine string (logged, published in MQTT device status);
* ``key`` — a translation key the kiosk turns into a sentence a citizen understands;
* ``retryable`` — ``True`` when trying the same operation again later may succeed without a
  person doing anything (a timeout, a printer that was switched off and on);
  ``False`` when someone has to act first (paper out, wrong configuration, missing library).
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every error raised by :mod:`devices`."""

    code = "device.error"
    key = "device.error"
    retryable = False

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} [{self.url}]" if self.url else text


class DeviceConfigError(DeviceError, ValueError):
    """The device URL or a parameter is wrong. Give up: fix the configuration."""

    code = "device.config"
    key = "device.config"


class DeviceDependencyMissing(DeviceConfigError):
    """An optional hardware library (e.g. pyusb) is not installed. Give up: install it.

    A configuration error too, so every command that refuses a bad device URL in one line
    refuses this in one line (not a traceback from deep inside the kiosk)."""

    code = "device.dependency_missing"
    key = "device.dependency_missing"


class DeviceOffline(DeviceError):
    """The device cannot be reached (unplugged, switched off, network down). Retry later."""

    code = "device.offline"
    key = "device.offline"
    retryable = True


class DeviceTimeout(DeviceError):
    """The device did not answer in time. Retry."""

    code = "device.timeout"
    key = "device.timeout"
    retryable = True


class PrinterError(DeviceError):
    """Base for printer-specific conditions."""

    code = "printer.error"
    key = "printer.error"


class PrinterOffline(PrinterError, DeviceOffline):
    code = "printer.offline"
    key = "printer.offline"
    retryable = True


class PrinterTimeout(PrinterError, DeviceTimeout):
    code = "printer.timeout"
    key = "printer.timeout"
    retryable = True


class PaperOut(PrinterError):
    """No paper. Not retryable: a person must load a roll first."""

    code = "printer.paper_out"
    key = "printer.paper_out"


class LayoutError(PrinterError):
    """The job does not fit this printer (image wider than the profile allows). A bug or config."""

    code = "printer.layout"
    key = "printer.layout"
