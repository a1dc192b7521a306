"""Read the issued number aloud, offline, with espeak-ng (when the site turns the voice on).

The kiosk does not import ``counter`` (its announcer has chimes and a clip cache); this is one
fire-and-forget process per ticket. A missing espeak-ng is logged once and then ignored.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable

log = logging.getLogger(__name__)

DIGITS_VI = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def number_sentence(number: str, lang: str) -> str:
    """"A023" → "Số thứ tự của bạn là A, không, hai, ba" — digit by digit, as halls call them."""
    if lang == "en":
        return "Your number is " + ", ".join(number)
    spoken = [DIGITS_VI[int(ch)] if ch.isdigit() else ch for ch in number]
    return "Số thứ tự của bạn là " + ", ".join(spoken)


class EspeakSpeaker:
    def __init__(self, binary: str = "espeak-ng", spawn: Callable[[list[str]], object] | None = None) -> None:
        self.binary = binary
        self.spawn = spawn or (lambda argv: subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self._missing_logged = False

    def command(self, number: str, lang: str) -> list[str]:
        return [self.binary, "-v", "en" if lang == "en" else "vi", "-s", "140", number_sentence(number, lang)]

    def say_number(self, number: str, lang: str) -> None:
        if shutil.which(self.binary) is None:
            if not self._missing_logged:
                log.warning("%s not found; numbers are not read aloud (apt-get install espeak-ng)", self.binary)
                self._missing_logged = True
            return
        self.spawn(self.command(number, lang))
