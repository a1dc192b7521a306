"""Working-day calendar and due-date rules.

Every expected date below is worked out by hand from the Vietnamese calendar; the comment next to
it shows the counting. Weekday names are checked in ``test_weekday_anchors`` so a slip in a
comment shows up as a failure.
"""

from datetime import date, datetime, time, timedelta, timezone

import pytest

from server.domain.calendar import Pause, Timeliness, WorkingCalendar, classify

VN = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh has no DST; a fixed offset is exact


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def at(y, m, d, hh=9, mm=0, ss=0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=VN)


def test_weekday_anchors():
    # The comments in this file lean on these; if one is wrong the reasoning is wrong.
    assert date(2025, 11, 21).strftime("%a") == "Fri"
    assert date(2025, 11, 23).strftime("%a") == "Sun"
    assert date(2026, 2, 12).strftime("%a") == "Thu"
    assert date(2026, 2, 16).strftime("%a") == "Mon"
    assert date(2026, 4, 30).strftime("%a") == "Thu"
    assert date(2026, 8, 22).strftime("%a") == "Sat"
    assert date(2027, 2, 3).strftime("%a") == "Wed"


# -- which days are working days ----------------------------------------------------------------


def test_weekend_is_off_weekday_is_on(cal):
    assert cal.is_working_day(date(2025, 11, 21))  # Friday
    assert not cal.is_working_day(date(2025, 11, 22))  # Saturday
    assert not cal.is_working_day(date(2025, 11, 23))  # Sunday
    assert cal.is_working_day(date(2025, 11, 24))  # Monday


@pytest.mark.parametrize(
    "day",
    [
        # Tết Bính Ngọ 2026: Lunar New Year is Tue 17/2; officials are off Mon 16 – Fri 20/2.
        date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19),
        date(2026, 2, 20),
        # Tết Đinh Mùi 2027: Lunar New Year Sat 6/2; 29 Tết Thu 4/2 and Eve Fri 5/2 off, and
        # Mon 8 – Wed 10/2 (days 3–5) in lieu of the Sat/Sun (package estimate, not yet decreed).
        date(2027, 2, 4), date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10),
        date(2025, 4, 30), date(2025, 9, 2), date(2026, 4, 30), date(2026, 5, 1),
        # Hùng Kings 10/3 lunar falls on Sun 26/4/2026 -> Monday 27/4 in lieu.
        date(2026, 4, 27),
        # National Day 2026: Wed 2/9 + Tue 1/9, and Mon 31/8 swapped for Sat 22/8.
        date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2),
    ],
)
def test_public_holidays_are_off(cal, day):
    assert not cal.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 8, 22),  # Saturday worked in exchange for Mon 31/8/2026
        date(2025, 4, 26),  # Saturday worked in exchange for Fri 2/5/2025
        date(2024, 5, 4),  # Saturday worked in exchange for Mon 29/4/2024
        date(2014, 12, 27),  # Saturday worked for Fri 2/1/2015: the swap crosses the year
    ],
)
def test_decreed_working_saturdays_count(cal, day):
    assert day.weekday() == 5
    assert cal.is_working_day(day)


def test_days_around_tet_2026_are_working(cal):
    assert cal.is_working_day(date(2026, 2, 13))  # Friday before Tết
    assert cal.is_working_day(date(2026, 2, 23))  # first Monday after Tết


def test_holiday_name_is_vietnamese(cal):
    assert cal.holiday_name(date(2026, 2, 17)) == "Tết Nguyên Đán"
    assert cal.holiday_name(date(2026, 2, 23)) is None


# -- arithmetic ---------------------------------------------------------------------------------


def test_next_and_add_working_days_skip_weekend(cal):
    assert cal.next_working_day(date(2025, 11, 21)) == date(2025, 11, 24)  # Fri -> Mon
    # From Fri 21/11: Mon 24 (1), Tue 25 (2), Wed 26 (3), Thu 27 (4), Fri 28 (5).
    assert cal.add_working_days(date(2025, 11, 21), 5) == date(2025, 11, 28)
    assert cal.add_working_days(date(2025, 11, 22), 0) == date(2025, 11, 24)  # Sat -> Mon
    assert cal.add_working_days(date(2025, 11, 21), 0) == date(2025, 11, 21)


def test_working_days_between_is_half_open(cal):
    # (Fri 21/11, Fri 28/11]: Mon–Fri = 5; the Friday we start from is not counted.
    assert cal.working_days_between(date(2025, 11, 21), date(2025, 11, 28)) == 5
    assert cal.working_days_between(date(2025, 11, 28), date(2025, 11, 21)) == -5
    # (Fri 13/2/2026, Mon 23/2/2026]: Tết week and two weekends -> only Mon 23 counts.
    assert cal.working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1
    with pytest.raises(ValueError):
        cal.add_working_days(date(2025, 11, 21), -1)


# -- due dates ----------------------------------------------------------------------------------


def test_dossier_received_just_before_tet_2026(cal):
    # Thu 12/2/2026, 3 days: Fri 13/2 (1); 14–22/2 weekend + Tết; Mon 23 (2), Tue 24 (3).
    assert cal.due_date(at(2026, 2, 12, 10), 3) == date(2026, 2, 24)


def test_same_day_dossier_after_cutoff_on_last_day_before_tet(cal):
    # Fri 13/2/2026 16:00, same-day procedure: after 15:00 -> next working day, Mon 23/2.
    assert cal.due_date(at(2026, 2, 13, 16), 0) == date(2026, 2, 23)


def test_dossier_received_just_before_tet_2027(cal):
    # Wed 3/2/2027, 2 days: 4–10/2 off (Tết + weekend); Thu 11/2 (1), Fri 12/2 (2).
    assert cal.due_date(at(2027, 2, 3, 9), 2) == date(2027, 2, 12)


def test_weekend_receipt_five_days(cal):
    # Fri 21/11/2025, 5 days -> Fri 28/11 (the weekend is not counted).
    assert cal.due_date(at(2025, 11, 21, 9), 5) == date(2025, 11, 28)


@pytest.mark.parametrize(
    ("hh", "mm", "ss", "due"),
    [
        (14, 59, 0, date(2025, 11, 24)),  # before the cut-off: same day
        (15, 0, 0, date(2025, 11, 24)),  # at 15:00 is not "after 15:00"
        (15, 0, 59, date(2025, 11, 24)),  # the slip says 15:00 too: still same day
        (15, 1, 0, date(2025, 11, 25)),  # after the cut-off: next working day, Tue
    ],
)
def test_same_day_cutoff_is_inclusive_to_the_minute(cal, hh, mm, ss, due):
    assert cal.due_date(at(2025, 11, 24, hh, mm, ss), 0) == due  # Monday 24/11/2025


def test_cutoff_on_friday_moves_to_monday(cal):
    assert cal.due_date(at(2025, 11, 21, 15, 1), 0) == date(2025, 11, 24)


def test_cutoff_does_not_apply_to_multi_day_procedures(cal):
    # Mon 24/11/2025, 3 days -> Thu 27/11, whether received at 08:00 or 16:30.
    assert cal.due_date(at(2025, 11, 24, 8), 3) == date(2025, 11, 27)
    assert cal.due_date(at(2025, 11, 24, 16, 30), 3) == date(2025, 11, 27)


def test_site_cutoff_is_configurable():
    cal = WorkingCalendar(cutoff=time(16, 0))
    assert cal.due_date(at(2025, 11, 24, 15, 30), 0) == date(2025, 11, 24)
    assert cal.due_date(at(2025, 11, 24, 16, 1), 0) == date(2025, 11, 25)


def test_received_on_sunday(cal):
    # Sun 23/11/2025 counts as Mon 24 morning: 3 days -> Thu 27/11.
    assert cal.due_date(at(2025, 11, 23, 10), 3) == date(2025, 11, 27)
    # Same-day procedure received Sunday 16:00: the cut-off is Monday's, not Sunday's -> Mon.
    assert cal.due_date(at(2025, 11, 23, 16), 0) == date(2025, 11, 24)


def test_received_on_30_april(cal):
    # Thu 30/4/2026: 30/4, 1/5 and the weekend are off -> counts as Mon 4/5; 1 day -> Tue 5/5.
    assert cal.due_date(at(2026, 4, 30, 9), 1) == date(2026, 5, 5)
    # Fri 24/4/2026, 3 days: Mon 27/4 off (Hùng Kings in lieu); Tue 28 (1), Wed 29 (2);
    # 30/4–3/5 off; Mon 4/5 (3).
    assert cal.due_date(at(2026, 4, 24, 9), 3) == date(2026, 5, 4)


def test_received_on_2_september(cal):
    # Tue 2/9/2025 (1/9 and 2/9 off): same-day procedure -> Wed 3/9.
    assert cal.due_date(at(2025, 9, 2, 10), 0) == date(2025, 9, 3)
    # Fri 29/8/2025, 2 days: Mon 1/9 and Tue 2/9 off -> Wed 3 (1), Thu 4 (2).
    assert cal.due_date(at(2025, 8, 29, 10), 2) == date(2025, 9, 4)


def test_decreed_working_saturday_can_be_the_due_day(cal):
    # Fri 21/8/2026, 1 day -> Sat 22/8/2026, worked in exchange for Mon 31/8.
    assert cal.due_date(at(2026, 8, 21, 9), 1) == date(2026, 8, 22)
    # Fri 28/8/2026, 3 days: 31/8, 1/9, 2/9 off -> Thu 3/9 (1), Fri 4/9 (2), Mon 7/9 (3).
    assert cal.due_date(at(2026, 8, 28, 9), 3) == date(2026, 9, 7)


def test_aware_utc_datetimes_are_judged_in_local_time(cal):
    # 08:30 UTC = 15:30 in Hà Nội: after the cut-off -> Tue 25/11.
    assert cal.due_date(datetime(2025, 11, 24, 8, 30, tzinfo=timezone.utc), 0) == date(2025, 11, 25)
    # Sun 23/11 18:00 UTC = Mon 24/11 01:00 local: a working-day receipt, before the cut-off.
    assert cal.due_date(datetime(2025, 11, 23, 18, 0, tzinfo=timezone.utc), 0) == date(2025, 11, 24)


def test_naive_datetimes_are_taken_as_local(cal):
    assert cal.due_date(datetime(2025, 11, 24, 15, 1), 0) == date(2025, 11, 25)


def test_negative_legal_days_rejected(cal):
    with pytest.raises(ValueError):
        cal.due_date(at(2025, 11, 24), -1)


# -- site overrides -----------------------------------------------------------------------------


def test_extra_day_off_moves_due_date():
    default, site = WorkingCalendar(), WorkingCalendar(extra_days_off=[date(2025, 11, 26)])
    # Mon 24/11/2025, 3 days: Tue 25, Wed 26, Thu 27 -> Thu 27 ...
    assert default.due_date(at(2025, 11, 24), 3) == date(2025, 11, 27)
    # ... but with Wed 26 off at this site: Tue 25, Thu 27, Fri 28 -> Fri 28.
    assert site.due_date(at(2025, 11, 24), 3) == date(2025, 11, 28)


def test_compensatory_working_saturday_counts():
    default, site = WorkingCalendar(), WorkingCalendar(extra_working_days=[date(2025, 11, 29)])
    # Thu 27/11/2025, 2 days: Fri 28 (1), Mon 1/12 (2) ...
    assert default.due_date(at(2025, 11, 27), 2) == date(2025, 12, 1)
    # ... with Sat 29/11 worked: Fri 28 (1), Sat 29 (2).
    assert site.due_date(at(2025, 11, 27), 2) == date(2025, 11, 29)


def test_extra_working_day_overrides_a_listed_holiday():
    # A site that does not take 24/11/2026 (Vietnam Cultural Day, new in the package) off.
    assert not WorkingCalendar().is_working_day(date(2026, 11, 24))
    assert WorkingCalendar(extra_working_days=[date(2026, 11, 24)]).is_working_day(date(2026, 11, 24))


def test_contradictory_overrides_rejected():
    with pytest.raises(ValueError, match="2025-11-29"):
        WorkingCalendar(extra_days_off=[date(2025, 11, 29)], extra_working_days=[date(2025, 11, 29)])
    with pytest.raises(TypeError):
        WorkingCalendar(extra_days_off=[datetime(2025, 11, 29, 8)])


# -- supplements stop the clock -----------------------------------------------------------------
# Base case: received Mon 24/11/2025 09:00, 5 days: Tue 25 .. Mon 1/12 -> due Mon 1/12.

BASE_RECEIVED = at(2025, 11, 24, 9)


def test_base_case(cal):
    assert cal.due_date(BASE_RECEIVED, 5) == date(2025, 12, 1)


def test_pause_spanning_a_weekend(cal):
    # Requested Thu 27/11, supplied Mon 1/12: gives back Fri 28 and Mon 1 (not Sat/Sun) = 2.
    pause = Pause(at(2025, 11, 27, 10), at(2025, 12, 1, 14))
    assert cal.stopped_working_days(pause) == 2
    # Mon 1/12 + 2 -> Tue 2 (1), Wed 3 (2). Check: Tue–Thu used 3 days before the request,
    # 2 remain, counted from the day after the supplement: Tue 2, Wed 3.
    assert cal.shifted_due_date(BASE_RECEIVED, 5, [pause]) == date(2025, 12, 3)


def test_pause_within_one_day_gives_nothing_back(cal):
    pause = Pause(at(2025, 11, 26, 9), at(2025, 11, 26, 16))
    assert cal.stopped_working_days(pause) == 0
    assert cal.shifted_due_date(BASE_RECEIVED, 5, [pause]) == date(2025, 12, 1)


def test_pause_to_next_day_gives_one_day(cal):
    pause = Pause(at(2025, 11, 26, 9), at(2025, 11, 27, 8))
    assert cal.shifted_due_date(BASE_RECEIVED, 5, [pause]) == date(2025, 12, 2)  # Mon 1 -> Tue 2


def test_supplement_arriving_on_saturday_counts_as_monday(cal):
    # Requested Wed 26, supplied online Sat 29 = Mon 1/12 morning: gives back Thu, Fri, Mon = 3.
    pause = Pause(at(2025, 11, 26, 9), at(2025, 11, 29, 20))
    assert cal.stopped_working_days(pause) == 3
    # Mon 1/12 + 3 -> Tue 2, Wed 3, Thu 4.
    assert cal.shifted_due_date(BASE_RECEIVED, 5, [pause]) == date(2025, 12, 4)


def test_two_pauses_add_up(cal):
    first = Pause(at(2025, 11, 25, 9), at(2025, 11, 26, 9))  # gives back Wed 26 = 1
    second = Pause(at(2025, 11, 27, 9), at(2025, 12, 1, 9))  # Fri 28, Mon 1 = 2
    # Mon 1/12 + 3 -> Thu 4/12; order of the list does not matter.
    assert cal.shifted_due_date(BASE_RECEIVED, 5, [second, first]) == date(2025, 12, 4)


def test_pause_over_tet_gives_back_only_working_days(cal):
    # Received Mon 9/2/2026, 5 days: Tue 10, Wed 11, Thu 12, Fri 13, Mon 23 -> due Mon 23/2.
    received = at(2026, 2, 9, 9)
    assert cal.due_date(received, 5) == date(2026, 2, 23)
    # Requested Wed 11/2, supplied Tue 24/2: gives back Thu 12, Fri 13, Mon 23, Tue 24 = 4.
    pause = Pause(at(2026, 2, 11, 9), at(2026, 2, 24, 9))
    assert cal.stopped_working_days(pause) == 4
    # Mon 23 + 4 -> Tue 24, Wed 25, Thu 26, Fri 27/2.
    assert cal.shifted_due_date(received, 5, [pause]) == date(2026, 2, 27)


def test_bad_pauses_rejected(cal):
    with pytest.raises(ValueError, match="ends before"):
        cal.stopped_working_days(Pause(at(2025, 11, 27), at(2025, 11, 26)))
    overlapping = [
        Pause(at(2025, 11, 25), at(2025, 11, 27)),
        Pause(at(2025, 11, 26), at(2025, 11, 28)),
    ]
    with pytest.raises(ValueError, match="overlap"):
        cal.shifted_due_date(BASE_RECEIVED, 5, overlapping)
    with pytest.raises(ValueError, match="before the dossier was received"):
        cal.shifted_due_date(BASE_RECEIVED, 5, [Pause(at(2025, 11, 20), at(2025, 11, 25))])


# -- timeliness ---------------------------------------------------------------------------------

DUE = date(2025, 11, 27)


@pytest.mark.parametrize(
    ("resolved_on", "today", "expected"),
    [
        (date(2025, 11, 26), None, Timeliness.AHEAD),
        (date(2025, 11, 27), None, Timeliness.ON_TIME),
        (date(2025, 11, 28), None, Timeliness.LATE),
        (None, date(2025, 11, 20), Timeliness.WITHIN),
        (None, date(2025, 11, 27), Timeliness.WITHIN),  # the due day itself is still in time
        (None, date(2025, 11, 28), Timeliness.PAST_DUE),
        # resolution wins over today: resolved on time stays on time later on
        (date(2025, 11, 27), date(2025, 12, 10), Timeliness.ON_TIME),
    ],
)
def test_classify(resolved_on, today, expected):
    assert classify(DUE, resolved_on, today=today) is expected


def test_classify_needs_today_for_open_dossiers_and_refuses_datetimes():
    with pytest.raises(ValueError):
        classify(DUE)
    with pytest.raises(TypeError):
        classify(DUE, at(2025, 11, 27))
