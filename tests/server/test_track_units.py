"""Pure pieces of the tracking endpoints: name masking, the token bucket (with an injected clock)."""

from datetime import datetime, time

from server.api.live import RateLimiter
from server.storage.tracking import mask_name


def test_names_are_masked_to_initials():
    assert mask_name("Lò Thị Mai") == "L** T** M**"
    assert mask_name("  Đặng   Ánh ") == "Đ** Á**"
    assert mask_name("Lo\u0300 Thi\u0323") == "L** T**"  # decomposed input, same result


def test_token_bucket_allows_a_minute_then_refills_continuously():
    limiter = RateLimiter(60)
    assert all(limiter.allow("10.0.0.1", now=100.0)[0] for _ in range(60))
    allowed, retry = limiter.allow("10.0.0.1", now=100.0)
    assert not allowed and retry == 1.0
    assert limiter.allow("10.0.0.2", now=100.0)[0]  # per client
    assert limiter.allow("10.0.0.1", now=101.0)[0]  # one token back after a second
    assert not limiter.allow("10.0.0.1", now=101.0)[0]
    assert sum(limiter.allow("10.0.0.1", now=1000.0)[0] for _ in range(100)) == 60  # never more than full


def test_workday_index_matches_the_domain_calendar_day_by_day():
    from datetime import date, timedelta

    from server.domain.calendar import Pause, WorkingCalendar
    from server.storage.reports import WorkdayIndex

    cal = WorkingCalendar(extra_days_off=[date(2026, 11, 13)], extra_working_days=[date(2026, 11, 21)])
    index = WorkdayIndex(cal, date(2026, 10, 1), date(2027, 3, 1))
    checked = 0
    for due_offset in range(0, 60, 7):
        due = cal.add_working_days(date(2026, 10, 5), due_offset)
        for stop_offset in range(0, 120, 5):
            stopped = date(2026, 10, 1) + timedelta(days=stop_offset)
            for as_of in (stopped, stopped + timedelta(days=1), stopped + timedelta(days=9), date(2027, 2, 16)):
                start = datetime.combine(stopped, time(9), tzinfo=cal.tz)
                end = datetime.combine(as_of, time(23, 59), tzinfo=cal.tz)
                expected = cal.add_working_days(due, cal.stopped_working_days(Pause(start, end)))
                assert index.provisional_due(due, stopped, as_of) == expected, (due, stopped, as_of)
                checked += 1
    assert checked > 300
