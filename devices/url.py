"""Device URLs and the registry that maps a scheme to a backend.

A device is configured by one string, e.g. ``usb://04b8:0202``, ``serial:///dev/ttyUSB0?baudrate=9600``,
``tcp://10.0.0.5:9100``, ``file:///tmp/out.bin`` or ``sim://?fault=paper_out``.  Parsing is pure:
it never touches the device, so a bad URL is reported at start-up, naming the URL, before any I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

from .errors import DeviceConfigError

SCHEMES = ("usb", "serial", "tcp", "file", "sim")


@dataclass(frozen=True)
class DeviceURL:
    """A parsed device URL. ``params`` holds the query string (last value wins)."""

    raw: str
    scheme: str
    host: str = ""
    port: int | None = None
    path: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def error(self, message: str) -> DeviceConfigError:
        return DeviceConfigError(f"{message} in device URL {self.raw!r}", url=self.raw)

    def check_params(self, allowed: Iterable[str]) -> None:
        unknown = sorted(set(self.params) - set(allowed))
        if unknown:
            raise self.error(f"unknown parameter(s) {', '.join(unknown)}")

    def get_int(self, name: str, default: int, lo: int, hi: int) -> int:
        value = self.params.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not lo <= number <= hi:
            raise self.error(f"parameter {name}={value!r} must be an integer {lo}..{hi}")
        return number

    def get_float(self, name: str, default: float, lo: float, hi: float) -> float:
        value = self.params.get(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is None or not lo <= number <= hi:
            raise self.error(f"parameter {name}={value!r} must be a number {lo}..{hi}")
        return number

    def get_choice(self, name: str, default: str, choices: Iterable[str]) -> str:
        value = self.params.get(name, default)
        options = tuple(choices)
        if value not in options:
            raise self.error(f"parameter {name}={value!r} must be one of {', '.join(options)}")
        return value

    def usb_ids(self) -> tuple[int, int]:
        """``usb://04b8:0202`` → (0x04b8, 0x0202)."""
        vid, _, pid = self.host.partition(":")
        try:
            ids = (int(vid, 16), int(pid, 16))
        except ValueError:
            ids = None
        if ids is None or len(vid) != 4 or len(pid) != 4:
            raise self.error("usb:// needs VID:PID as two 4-digit hex numbers, e.g. usb://04b8:0202")
        return ids


def parse_device_url(url: str) -> DeviceURL:
    """Parse and validate the generic shape of a device URL (scheme-specific checks follow)."""
    if not isinstance(url, str) or "://" not in url:
        raise DeviceConfigError(f"not a device URL: {url!r} (expected e.g. sim:// or tcp://host:9100)",
                                url=str(url))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise DeviceConfigError(
            f"unknown scheme {scheme!r} in device URL {url!r}; use one of {', '.join(SCHEMES)}",
            url=url)
    try:
        params = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False))
        port = None if scheme == "usb" else parts.port  # "04b8:0e15" is VID:PID, not host:port
    except ValueError as err:
        raise DeviceConfigError(f"malformed device URL {url!r}: {err}", url=url) from err
    if scheme == "usb":
        host = parts.netloc.lower()
    else:
        host = parts.hostname or ""
    parsed = DeviceURL(raw=url, scheme=scheme, host=host, port=port, path=parts.path, params=params)
    if scheme == "usb":
        parsed.usb_ids()
    elif scheme == "tcp":
        if not parsed.host:
            raise parsed.error("tcp:// needs a host, e.g. tcp://10.0.0.5:9100")
    elif scheme in ("serial", "file"):
        if not parsed.path or parsed.host:
            raise parsed.error(f"{scheme}:// needs an absolute path, e.g. {scheme}:///dev/ttyUSB0")
    return parsed


B = TypeVar("B")


class Registry(Generic[B]):
    """Scheme → factory for one kind of device. Factories receive a :class:`DeviceURL`."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[[DeviceURL], B]] = {}

    def register(self, scheme: str, factory: Callable[[DeviceURL], B]) -> None:
        self._factories[scheme] = factory

    def schemes(self) -> tuple[str, ...]:
        return tuple(self._factories)

    def create(self, url: str | DeviceURL) -> B:
        parsed = url if isinstance(url, DeviceURL) else parse_device_url(url)
        factory = self._factories.get(parsed.scheme)
        if factory is None:
            raise parsed.error(
                f"a {self.kind} cannot use scheme {parsed.scheme!r} (supported: {', '.join(self._factories)})")
        return factory(parsed)
