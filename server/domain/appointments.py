"""Appointments: a service's bookable slots, which days are open, the booking rules, reminders.

Plain Python. A manager sets a *plan* per service: the day's slots (``"08:00"``–``"09:00"``, each
with a capacity: how many citizens may book it), how many days ahead citizens may book, how many
live bookings one phone may hold, and per-date exceptions (a date with other slots, or none).
Days that are not working days in the site's :class:`~server.domain.calendar.WorkingCalendar`
(weekends, holidays, the site's own days off) have no slots at all.

A booked citizen who checks in at the kiosk gets a ticket whose *window* is the slot's start and
end: inside it the ticket is called before walk-ins (:func:`server.domain.queue.sort_key`), after
it like a walk-in, by the time it was checked in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from .calendar import WorkingCalendar
from .errors import InvalidInput, InvalidTransition

_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
MAX_SLOTS = 48
MAX_CAPACITY = 500
DEFAULT_DAYS_AHEAD = 14
DEFAULT_PER_PHONE = 2
REMINDER_AT = time(16, 0)
"""Reminders go out from this local time on the day before (the citizen plans the trip that evening)."""


class PlanError(InvalidInput):
    code = "invalid_plan"


class BookingRefused(InvalidTransition):
    code = "booking_refused"


@dataclass(frozen=True)
class Slot:
    start: time
    end: time
    capacity: int

    @cached_property
    def key(self) -> str:
        return self.start.strftime("%H:%M")

    @cached_property
    def end_key(self) -> str:
        return self.end.strftime("%H:%M")

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.key, "end": self.end_key, "capacity": self.capacity}


@dataclass(frozen=True)
class Plan:
    slots: tuple[Slot, ...] = ()
    days_ahead: int = DEFAULT_DAYS_AHEAD
    per_phone: int = DEFAULT_PER_PHONE
    dates: dict[date, tuple[Slot, ...]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"slots": [s.as_dict() for s in self.slots], "days_ahead": self.days_ahead,
                "per_phone": self.per_phone,
                "dates": {d.isoformat(): [s.as_dict() for s in v] for d, v in sorted(self.dates.items())}}


def _hhmm(value: Any, where: str) -> time:
    if not isinstance(value, str) or not _HHMM.fullmatch(value):
        raise PlanError(f"{where} must be a time of day written HH:MM (like \"08:00\"), not {value!r}")
    return time.fromisoformat(value)


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PlanError(f"{where} must be a whole number from {low} to {high}, not {value!r}")
    return value


def _slots(values: Any, where: str) -> tuple[Slot, ...]:
    if not isinstance(values, list) or len(values) > MAX_SLOTS:
        raise PlanError(f"{where} must be a list of at most {MAX_SLOTS} slots")
    out = []
    for i, item in enumerate(values):
        if not isinstance(item, dict) or set(item) - {"start", "end", "capacity"}:
            raise PlanError(f"{where}[{i}] must be {{\"start\": \"HH:MM\", \"end\": \"HH:MM\", \"capacity\": N}}")
        start, end = _hhmm(item.get("start"), f"{where}[{i}].start"), _hhmm(item.get("end"), f"{where}[{i}].end")
        if end <= start:
            raise PlanError(f"{where}[{i}]: the end {end:%H:%M} must come after the start {start:%H:%M}")
        out.append(Slot(start, end, _int(item.get("capacity"), f"{where}[{i}].capacity", 0, MAX_CAPACITY)))
    out.sort(key=lambda s: s.start)
    for a, b in zip(out, out[1:]):
        if b.start < a.end:
            raise PlanError(f"{where}: slots {a.key}–{a.end:%H:%M} and {b.key}–{b.end:%H:%M} overlap")
    return tuple(out)


def parse_plan(data: Any) -> Plan:
    """A manager's plan as JSON → :class:`Plan`, or :class:`PlanError` naming the wrong key."""
    if not isinstance(data, dict):
        raise PlanError("the plan must be an object with slots, days_ahead, per_phone and dates")
    unknown = set(data) - {"slots", "days_ahead", "per_phone", "dates"}
    if unknown:
        raise PlanError(f"unknown keys in the plan: {', '.join(sorted(unknown))}")
    dates = {}
    raw_dates = data.get("dates", {})
    if not isinstance(raw_dates, dict):
        raise PlanError("dates must map YYYY-MM-DD to a list of slots ([] closes that date)")
    for key, value in raw_dates.items():
        try:
            day = date.fromisoformat(key)
        except (TypeError, ValueError):
            raise PlanError(f"dates: {key!r} is not a YYYY-MM-DD date") from None
        dates[day] = _slots(value, f"dates.{key}")
    return Plan(_slots(data.get("slots", []), "slots"),
                _int(data.get("days_ahead", DEFAULT_DAYS_AHEAD), "days_ahead", 0, 90),
                _int(data.get("per_phone", DEFAULT_PER_PHONE), "per_phone", 1, 20), dates)


def slots_on(plan: Plan, calendar: WorkingCalendar, day: date) -> tuple[Slot, ...]:
    """The slots open on ``day``: none on a day that is not a working day, else the date's own or the plan's."""
    if not calendar.is_working_day(day):
        return ()
    return plan.dates.get(day, plan.slots)


def window(day: date, slot: Slot, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The slot as aware UTC instants (what tickets and the queue compare)."""
    start = datetime.combine(day, slot.start, tz).astimezone(timezone.utc)
    end = datetime.combine(day, slot.end, tz).astimezone(timezone.utc)
    return start, end


def bookable_days(plan: Plan, calendar: WorkingCalendar, today: date) -> list[date]:
    """Today and the next ``days_ahead`` days that have slots."""
    days = (today + timedelta(days=k) for k in range(plan.days_ahead + 1))
    return [d for d in days if slots_on(plan, calendar, d)]


def check_bookable(plan: Plan, calendar: WorkingCalendar, day: date, start: str, now: datetime,
                   tz: ZoneInfo) -> Slot:
    """The slot a citizen asked for, or :class:`BookingRefused` with a sentence for them."""
    today = now.astimezone(tz).date()
    if day < today or day > today + timedelta(days=plan.days_ahead):
        raise BookingRefused(f"Chỉ đặt được lịch từ hôm nay đến {plan.days_ahead} ngày tới. / "
                             f"Bookings are open for today and the next {plan.days_ahead} days.", code="day_out_of_range")
    if not calendar.is_working_day(day):
        raise BookingRefused(f"Ngày {day:%d/%m/%Y} trung tâm không làm việc. Vui lòng chọn ngày khác. / "
                             "The centre is closed that day.", code="day_closed")
    slot = next((s for s in slots_on(plan, calendar, day) if s.key == start), None)
    if slot is None or slot.capacity == 0:
        raise BookingRefused("Khung giờ này không nhận đặt lịch. Vui lòng chọn khung giờ khác. / "
                             "That time is not open for booking.", code="slot_unknown")
    if window(day, slot, tz)[1] <= now:
        raise BookingRefused("Khung giờ này đã qua. Vui lòng chọn khung giờ khác. / That time has passed.",
                             code="slot_past")
    return slot


def slot_full() -> BookingRefused:
    return BookingRefused("Khung giờ này đã hết chỗ. Vui lòng chọn khung giờ khác. / That time is fully booked.",
                          code="slot_full")


def reminder_due(day: date, now: datetime, tz: ZoneInfo, at: time = REMINDER_AT) -> bool:
    """Whether an appointment on ``day`` should be reminded now: the day before from ``at`` on."""
    local = now.astimezone(tz)
    return local.date() == day - timedelta(days=1) and local.time() >= at


def reminder_text(service: str, day: date, start: str, centre: str, code: str) -> str:
    """One GSM 7-bit SMS, like the other notices (no diacritics: see notices.sms_text)."""
    from .notices import ascii_fold

    text = (f"Nhac lich hen {ascii_fold(centre)}: {ascii_fold(service)} luc {start} ngay {day:%d/%m/%Y}. "
            f"Den noi quet ma QR hen tai kiosk. Ma hen {code}")
    return text[:160]


def confirmation_code(token: str) -> str:
    """The short code a citizen can read out (the QR carries the whole token)."""
    return token[:6].upper().replace("-", "X").replace("_", "Y")
