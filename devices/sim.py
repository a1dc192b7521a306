"""Scripted faults shared by every ``sim://`` backend (after OctoPrint's virtual printer).

Query parameters of a ``sim://`` URL:

* ``fault=`` one of ``offline``, ``timeout``, ``paper_out``, ``paper_low`` (printer only for the
  last two). Without it the device is healthy.
* ``after=N`` — the first N operations succeed, then the fault starts ("unplugged mid-session").
* ``clear_after=N`` — the fault clears after it has been hit N times ("comes back"): an
  operation that would have failed for the (N+1)-th time succeeds, and so does everything after.

An *operation* is one open, one write or one status read.  Sims raise the same library-level
exceptions real transports raise (``OSError``, ``TimeoutError``...), so the translation at the
device boundary is exercised by every test that uses a sim.
"""

from __future__ import annotations

from dataclasses import dataclass

from .url import DeviceURL

TRANSPORT_FAULTS = ("offline", "timeout")
FAULTS = (*TRANSPORT_FAULTS, "paper_out", "paper_low")
SIM_PARAMS = ("fault", "after", "clear_after")


@dataclass
class FaultScript:
    fault: str | None = None
    after: int = 0
    clear_after: int | None = None
    operations: int = 0
    hits: int = 0

    @classmethod
    def from_url(cls, url: DeviceURL, allowed: tuple[str, ...] = FAULTS) -> FaultScript:
        fault = url.params.get("fault") or None
        if fault is not None and fault not in allowed:
            raise url.error(f"parameter fault={fault!r} must be one of {', '.join(allowed)}")
        clear = url.params.get("clear_after")
        return cls(
            fault=fault,
            after=url.get_int("after", 0, 0, 1_000_000),
            clear_after=None if clear is None else url.get_int("clear_after", 0, 0, 1_000_000),
        )

    def active(self, kinds: tuple[str, ...] = FAULTS) -> str | None:
        """Count one operation; return the fault that hits it, if any.

        ``kinds`` are the faults this operation can suffer (opening a port cannot run out of
        paper); only a fault that actually hits counts towards ``clear_after``.
        """
        self.operations += 1
        if self.fault is None or self.fault not in kinds or self.operations <= self.after:
            return None
        if self.clear_after is not None and self.hits >= self.clear_after:
            return None
        self.hits += 1
        return self.fault

    def peek(self) -> str | None:
        """The fault that would apply now, without counting an operation."""
        if self.fault is None or self.operations < self.after:
            return None
        if self.clear_after is not None and self.hits >= self.clear_after:
            return None
        return self.fault

    def raise_transport_fault(self, fault: str | None) -> None:
        """Raise what a real transport would raise for ``offline``/``timeout``."""
        if fault == "offline":
            raise ConnectionRefusedError(111, "simulated device offline")
        if fault == "timeout":
            raise TimeoutError("simulated device timeout")
