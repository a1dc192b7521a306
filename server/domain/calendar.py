"""The working-day calendar: which days count towards a dossier's legal processing time.

Legal processing times are given in *working days* (ngày làm việc). A day is a working day unless
it is a Saturday or Sunday, or a public holiday, with two corrections:

* the Government regularly swaps days ("làm bù"): a Saturday becomes a working day so that a
  weekday next to a holiday can be taken off. The ``holidays`` package knows the swaps that
  were decided (``weekend_workdays``) and we honour them;
* a site (province or commune) may have its own days off, and its own compensatory working
  Saturdays, or may need to correct the package when a decision came out after the release we
  ship. ``extra_days_off`` and ``extra_working_days`` win over everything else.

Public holidays come from ``holidays.country_holidays("VN")`` (Labour Code 2019 art. 112: New
Year, five days of Tết, Hùng Kings, 30/4, 1/5, two days of National Day, and Vietnam Cultural Day
24/11 from 2026), with the in-lieu day off when a holiday falls on a weekend. Tết days of years
the Government has not decided yet are the package's estimate; a site corrects them with the
overrides above.

Everything is computed in local time (Asia/Ho_Chi_Minh): a dossier received at 23:30 UTC is
received the next local day. Aware datetimes are converted; naive datetimes are taken to be
local already (that is what a counter terminal's clock shows).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import holidays

LOCAL_TZ = "Asia/Ho_Chi_Minh"
SAME_DAY_CUTOFF = time(15, 0)
"""The calendar's default cut-off for same-day procedures (to the minute); a procedure's own
cut-off, passed to ``due_date``, replaces it."""
CALENDAR_CUTOFF = object()
"""``due_date``'s default: use the calendar's cut-off, for same-day procedures only."""

_SATURDAY = 5
_ONE_DAY = timedelta(days=1)


class Timeliness(StrEnum):
    """How a dossier stands against its due date, in the terms provinces report in."""

    AHEAD = "ahead"  # resolved before the due day (trước hạn)
    ON_TIME = "on_time"  # resolved on the due day (đúng hạn)
    LATE = "late"  # resolved after the due day (quá hạn)
    WITHIN = "within"  # still open, due day not passed (trong hạn)
    PAST_DUE = "past_due"  # still open, due day passed (quá hạn)


@dataclass(frozen=True, slots=True)
class Pause:
    """A stretch during which the legal clock stood still: supplement requested → supplied."""

    started_at: datetime
    ended_at: datetime


def classify(due: date, resolved_on: date | None = None, *, today: date | None = None) -> Timeliness:
    """Classify a dossier against its due day.

    Resolved dossiers are judged by the local day they were resolved; open ones (``resolved_on``
    is None) by ``today``, which is then required. Datetimes are refused: their date would be the
    UTC one for an aware value, so callers convert with ``WorkingCalendar.local_date`` first.
    """
    for value in (due, resolved_on, today):
        if isinstance(value, datetime):
            raise TypeError("pass local dates, not datetimes (use WorkingCalendar.local_date)")
    if resolved_on is not None:
        if resolved_on < due:
            return Timeliness.AHEAD
        return Timeliness.ON_TIME if resolved_on == due else Timeliness.LATE
    if today is None:
        raise ValueError("an open dossier needs today's date to be classified")
    return Timeliness.WITHIN if today <= due else Timeliness.PAST_DUE


def _plain_dates(values: Iterable[date], name: str) -> frozenset[date]:
    result = frozenset(values)
    for value in result:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise TypeError(f"{name} must hold dates, got {value!r}")
    return result


class WorkingCalendar:
    """Vietnamese working days for one site, plus the due-date rules built on them.

    Construction does no work; official holidays are generated per year on first use and kept.
    """

    def __init__(
        self,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        cutoff: time = SAME_DAY_CUTOFF,
        tz: str = LOCAL_TZ,
    ) -> None:
        self.extra_days_off = _plain_dates(extra_days_off, "extra_days_off")
        self.extra_working_days = _plain_dates(extra_working_days, "extra_working_days")
        clash = self.extra_days_off & self.extra_working_days
        if clash:
            days = ", ".join(sorted(d.isoformat() for d in clash))
            raise ValueError(f"a day cannot be both an extra day off and a working day: {days}")
        self.cutoff = cutoff
        self.tz = ZoneInfo(tz)
        self._official: dict[int, holidays.HolidayBase] = {}
        self._working: dict[date, bool] = {}  # is_working_day's answers: the calendar never changes

    # -- days -------------------------------------------------------------------------------

    def _official_for(self, year: int) -> holidays.HolidayBase:
        found = self._official.get(year)
        if found is None:
            # language pinned: otherwise the names follow the server's locale (LANG).
            found = holidays.country_holidays("VN", years=year, language="vi")
            self._official[year] = found
        return found

    def _official_weekend_workday(self, day: date) -> bool:
        # A swap may pay for a holiday of the next year (Saturday 27/12/2014 was worked for
        # Friday 2/1/2015). holidays 0.109 lists it under both years; looking in both keeps
        # us right whichever year a given package version files it under.
        return any(
            day in getattr(self._official_for(year), "weekend_workdays", ())
            for year in (day.year, day.year + 1)
        )

    def is_working_day(self, day: date) -> bool:
        """True when the centre counts ``day`` towards legal processing time."""
        found = self._working.get(day)
        if found is not None and type(day) is date:
            return found
        if isinstance(day, datetime):
            raise TypeError("is_working_day takes a local date; use local_date() first")
        if day in self.extra_working_days:
            found = True
        elif day in self.extra_days_off:
            found = False
        elif day.weekday() >= _SATURDAY:
            found = self._official_weekend_workday(day)
        else:
            found = day not in self._official_for(day.year)
        self._working[day] = found
        return found

    def holiday_name(self, day: date) -> str | None:
        """The official holiday on ``day`` in Vietnamese (e.g. "Tết Nguyên Đán"), or None."""
        return self._official_for(day.year).get(day)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        candidate = day + _ONE_DAY
        while not self.is_working_day(candidate):
            candidate += _ONE_DAY
        return candidate

    def add_working_days(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (``day`` itself is not counted).

        ``n == 0`` returns ``day`` when it is a working day, else the next one: "zero days later"
        on a holiday can only mean the first day the office is open.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 0:
            return day if self.is_working_day(day) else self.next_working_day(day)
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in the half-open range (a, b]; negative when b is before a.

        Half-open so that it inverts ``add_working_days``: for a working day ``a``,
        ``working_days_between(a, add_working_days(a, n)) == n``.
        """
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        day = a + _ONE_DAY
        while day <= b:
            count += self.is_working_day(day)
            day += _ONE_DAY
        return count

    # -- moments ----------------------------------------------------------------------------

    def to_local(self, moment: datetime) -> datetime:
        """``moment`` as an aware local datetime (naive values are taken to be local)."""
        if not isinstance(moment, datetime):
            raise TypeError(f"expected a datetime, got {moment!r}")
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.tz)
        return moment.astimezone(self.tz)

    def local_date(self, moment: datetime) -> date:
        """The local calendar day of ``moment``."""
        return self.to_local(moment).date()

    def counting_day(self, moment: datetime) -> date:
        """The working day on which something arriving at ``moment`` counts as arrived.

        Anything arriving on a day off counts as arriving at the start of the next working day.
        """
        day = self.local_date(moment)
        return day if self.is_working_day(day) else self.next_working_day(day)

    # -- due dates --------------------------------------------------------------------------

    def due_date(self, received_at: datetime, legal_days: int, cutoff: time | None | object = CALENDAR_CUTOFF) -> date:
        """The day the result is due for a dossier received at ``received_at``.

        ``cutoff`` is the procedure's own same-day cut-off (site file ``cutoff = "HH:MM"`` on the
        procedure; sector rules such as chứng thực and hộ tịch set 15:00) or None for none. A
        dossier accepted after it, to the minute, counts as accepted at the start of the next
        working day, whatever the legal days: a same-day procedure is then due that next day, an
        ``n``-day one ``n`` working days after it. Without the argument the calendar's own
        cut-off applies to same-day procedures only (the rule before cut-offs were per procedure):

        * ``legal_days > 0``: the ``legal_days``-th working day after the day of receipt (the
          day of receipt is never counted).
        * ``legal_days == 0`` (same-day procedures): due the day of receipt, unless received
          after the cut-off, then the next working day. The cut-off is compared to the minute,
          because the appointment slip prints hours and minutes: received at 15:00 (even
          15:00:59) is same day, at 15:01 is the next working day.
        * received on a day off: as if received at the start of the next working day, so the
          cut-off never applies then.
        """
        if legal_days < 0:
            raise ValueError("legal_days must be >= 0")
        local = self.to_local(received_at)
        start = self.counting_day(local)
        if cutoff is CALENDAR_CUTOFF:
            cutoff = self.cutoff if legal_days == 0 else None
        after_cutoff = (
            cutoff is not None
            and start == local.date()
            and local.time().replace(second=0, microsecond=0) > cutoff
        )
        if after_cutoff:
            start = self.next_working_day(start)
        if legal_days == 0:
            return start
        return self.add_working_days(start, legal_days)

    def stopped_working_days(self, pause: Pause) -> int:
        """Whole working days a pause gives back to the agency.

        Both ends are moved to the working day they count on (see ``counting_day``); the days
        given back are the working days after the request up to and including the day the
        supplement arrived: ``working_days_between(request day, arrival day)``.

        Why: an arriving supplement is treated like a receipt, and the day of receipt is never
        counted, so counting resumes on the next working day. Consequences: request and
        supplement on the same day give back nothing (no whole working day was lost);
        request Thursday, supplement Monday gives back Friday and Monday (2), never the
        weekend; a supplement sent online on Saturday counts as arriving Monday morning.
        """
        start, end = self.to_local(pause.started_at), self.to_local(pause.ended_at)
        if end < start:
            raise ValueError(f"pause ends before it starts: {start} > {end}")
        return self.working_days_between(self.counting_day(start), self.counting_day(end))

    def shifted_due_date(
        self, received_at: datetime, legal_days: int, pauses: Iterable[Pause],
        cutoff: time | None | object = CALENDAR_CUTOFF,
    ) -> date:
        """``due_date`` pushed back by the working days given back by each closed pause.

        Time waiting for a supplement does not count (Decree 61/2018). Pauses must not overlap
        and must not start before the receipt.
        """
        due = self.due_date(received_at, legal_days, cutoff)
        received = self.to_local(received_at)
        given_back = 0
        previous_end: datetime | None = None
        for pause in sorted(pauses, key=lambda p: self.to_local(p.started_at)):
            start = self.to_local(pause.started_at)
            if start < received:
                raise ValueError("a pause cannot start before the dossier was received")
            if previous_end is not None and start < previous_end:
                raise ValueError("pauses overlap")
            given_back += self.stopped_working_days(pause)
            previous_end = self.to_local(pause.ended_at)
        return self.add_working_days(due, given_back)
