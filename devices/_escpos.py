"""Import python-escpos once, with its capabilities cache pointed at a stable directory.

Without ``ESCPOS_CAPABILITIES_PICKLE_DIR`` escpos makes a new temporary directory on every
import and leaves it behind. Only the printer module imports this; layouts do not need escpos.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    for candidate in (Path(base) / "motcua" / "escpos", Path(tempfile.gettempdir()) / "motcua-escpos"):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK):
            return str(candidate)
    return tempfile.gettempdir()


if "ESCPOS_CAPABILITIES_PICKLE_DIR" not in os.environ:
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = _cache_dir()
else:  # set by someone else (e.g. the test suite): escpos fails if the directory is missing
    try:
        os.makedirs(os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"], exist_ok=True)
    except OSError:
        os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = _cache_dir()

from escpos import exceptions as escpos_errors  # noqa: E402
from escpos.constants import (  # noqa: E402
    QR_ECLEVEL_M,
    RT_MASK_LOWPAPER,
    RT_MASK_NOPAPER,
    RT_MASK_ONLINE,
    RT_MASK_PAPER,
    RT_STATUS_ONLINE,
    RT_STATUS_PAPER,
)
from escpos.escpos import Escpos  # noqa: E402
from escpos.printer import Dummy, File, Network, Serial, Usb  # noqa: E402

__all__ = [
    "Dummy", "Escpos", "File", "Network", "QR_ECLEVEL_M", "RT_MASK_LOWPAPER", "RT_MASK_NOPAPER",
    "RT_MASK_ONLINE", "RT_MASK_PAPER", "RT_STATUS_ONLINE", "RT_STATUS_PAPER", "Serial", "Usb",
    "escpos_errors",
]
