"""Logging for the device programs (kiosk, counter terminal, displays, announcer): each line once.

Left alone, Kivy adds its own console handler to the root logger, so with our handler every
line is printed twice (once in Kivy's colours), turns the root logger up to DEBUG (httpcore's
chatter), writes its own log files under ~/.kivy, and reports a missing X11 cut buffer
(xclip/xsel, copy and paste, which no kiosk needs) as CRITICAL with two tracebacks. On a site
the journal is the log: one handler, INFO, Kivy's records as ordinary ``kivy`` lines.
Must run before Kivy is imported.
"""

from __future__ import annotations

import logging
import os

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _DropCutbuffer(logging.Filter):
    """Kivy's "Unable to find any valuable Cutbuffer provider" CRITICAL: harmless, not shown."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Cutbuffer" not in str(record.msg)


def setup_device_logging(level: int = logging.INFO) -> None:
    os.environ["KIVY_LOG_MODE"] = "PYTHON"  # Kivy logs through the "kivy" logger, adds no handler
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    logging.basicConfig(level=level, format=FORMAT)
    kivy_logger = logging.getLogger("kivy")
    if not any(isinstance(f, _DropCutbuffer) for f in kivy_logger.filters):
        kivy_logger.addFilter(_DropCutbuffer())
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
