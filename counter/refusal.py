"""What a view-model action can end with besides plain success: a refusal or a warning."""

from __future__ import annotations

from dataclasses import dataclass


class TerminalError(Exception):
    """A refused action, raised inside the view-model only (``code`` → sentence)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Notice:
    """Done, but something needs the official's eye (e.g. the slip did not print): shown as an
    error-coloured ``text``; ``ok`` says whether the action itself counts as done."""

    text: str
    code: str
    ok: bool = True
