"""What the kiosk says, and when: plain Python on top of the controller (no Kivy, no audio).

:class:`Narrator` listens to the controller's state. In voice mode it reads each new screen
(``Screen.spoken``: exactly the lines the screen shows) and, when a tile or button is touched
once, that control's words. Voice mode off (by the button or an idle reset) silences the voice.
With ``read_numbers`` (``motcua kiosk --voice``) the issued number is read even outside voice mode.

Lines are shown text; :func:`speakable` only changes how a ticket number is said ("A023" →
"A, không hai ba", digit by digit as the hall calls it) so the voice matches the printed code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from counter.voice_text import ticket_text

from .flow import KioskController
from .present import Screen, present
from .state import KioskState



class Voice(Protocol):
    def say(self, lines: Sequence[str], lang: str = "vi") -> int: ...

    def silence(self) -> None: ...


def speakable(line: str, lang: str, number: str | None = None) -> str:
    """The words the synthesiser gets for a shown line."""
    if number and line.strip() == number:
        if lang == "en":
            return ", ".join(ch for ch in number if ch.isalnum())
        return ticket_text(number)
    return line


class Narrator:
    """Connects a controller to a voice. ``said`` keeps every utterance as the shown lines."""

    def __init__(self, vm: KioskController, voice: Voice, *, read_numbers: bool = False) -> None:
        self.vm = vm
        self.voice = voice
        self.read_numbers = read_numbers
        self.said: list[tuple[str, ...]] = []
        self._screen_key: tuple | None = None
        self._focus: tuple | None = None
        self._voice_on = False
        vm.subscribe(self.on_state)

    def on_state(self, state: KioskState) -> None:
        screen = present(self.vm, state)
        key = (screen.name, screen.lang, screen.title, screen.notice, screen.texts.get("greeting"),
               screen.texts.get("number"), tuple(x.label for x in screen.tiles))
        was_on, self._voice_on = self._voice_on, state.voice
        changed, self._screen_key = key != self._screen_key, key
        if not state.voice:
            self._focus = None
            if was_on:
                self.voice.silence()
            if self.read_numbers and changed and screen.name == "ticket":
                self._say(screen, (screen.title, screen.texts["number"]))
            return
        if state.focus is not None and state.focus != self._focus:
            self._focus = state.focus
            label = screen.label_of(state.focus)
            if label:
                self._say(screen, (label,))
            return
        self._focus = state.focus
        if changed or not was_on:
            self._say(screen, screen.spoken)

    def repeat(self) -> None:
        """Read the current screen again."""
        screen = present(self.vm)
        self._say(screen, screen.spoken)

    def _say(self, screen: Screen, lines: Sequence[str]) -> None:
        lines = tuple(lines)
        self.said.append(lines)
        number = screen.texts.get("number") or None
        self.voice.say([speakable(line, screen.lang, number) for line in lines], screen.lang)


