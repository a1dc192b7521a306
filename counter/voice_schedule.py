"""Volume by time of day: quieter at lunch, louder in the morning rush ("07:00=80,11:30=40,13:30=70").

Each entry starts at its time (site local time) and lasts until the next one; before the first
entry of the day the last one of the day before still holds.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SITE_TIMEZONE = "Asia/Ho_Chi_Minh"


def site_timezone(name: str = SITE_TIMEZONE) -> tzinfo:
    """The site's zone; Vietnam has no DST, so UTC+7 is an exact fallback without tzdata."""
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        if name == SITE_TIMEZONE:
            return timezone(timedelta(hours=7), "ICT")
        raise


@dataclass(frozen=True)
class QuietHours:
    """A daily window of silence in local time, e.g. "22:00-06:00" (may cross midnight)."""

    start: time
    end: time

    @classmethod
    def parse(cls, spec: str) -> QuietHours:
        try:
            first, second = (part.strip() for part in spec.split("-"))
            return cls(time.fromisoformat(first), time.fromisoformat(second))
        except ValueError as err:
            raise ValueError(f"quiet hours must look like '22:00-06:00', got {spec!r}") from err

    def contains(self, moment: time) -> bool:
        moment = moment.replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True)
class VolumeSchedule:
    steps: tuple[tuple[time, int], ...]

    @classmethod
    def parse(cls, spec: str) -> VolumeSchedule:
        """'07:00=80,11:30=40' → a schedule; a clear ValueError for anything else."""
        steps = []
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            try:
                start, volume = (x.strip() for x in part.split("="))
                moment, level = time.fromisoformat(start), int(volume)
            except ValueError as err:
                raise ValueError(f"volume schedule must look like '07:00=80,11:30=40', got {part!r}") from err
            if not 0 <= level <= 100:
                raise ValueError(f"volume must be 0-100, got {level} in {part!r}")
            steps.append((moment, level))
        if not steps:
            raise ValueError("volume schedule is empty; e.g. '07:00=80,11:30=40'")
        steps.sort()
        if len({m for m, _ in steps}) != len(steps):
            raise ValueError(f"volume schedule names a time twice: {spec!r}")
        return cls(tuple(steps))

    def at(self, moment: time) -> int:
        moment = moment.replace(tzinfo=None)
        index = bisect_right([m for m, _ in self.steps], moment) - 1
        return self.steps[index][1]  # index -1: yesterday's last entry
