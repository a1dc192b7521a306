"""Errors of the domain core.

Each carries a stable ``code`` (what API clients and the counter terminal switch on) and an
HTTP-ish ``kind`` so adapters translate them without a lookup table of their own.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base error of the domain: a rule said no."""

    code = "domain_error"
    kind = "conflict"  # conflict | not_found | invalid

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        """Facts a client needs to act on the refusal (e.g. which ticket holds a busy counter)."""
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    kind = "not_found"


class InvalidTransition(DomainError):
    """The ticket (or dossier) is not in a state that allows this action."""

    code = "invalid_transition"


class QueueEmpty(DomainError):
    code = "queue_empty"


class CounterNotOpen(DomainError):
    code = "counter_not_open"


class CounterBusy(DomainError):
    code = "counter_busy"


class InvalidInput(DomainError):
    code = "invalid_input"
    kind = "invalid"
