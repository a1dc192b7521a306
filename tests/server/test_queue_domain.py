"""The queue rules, on plain objects (no database)."""

from datetime import date, datetime, timedelta, timezone

import pytest

from server.domain import queue as q
from server.domain.errors import CounterBusy, CounterNotOpen, InvalidInput, InvalidTransition, QueueEmpty

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)  # 08:00 in Hà Nội


def ticket(id, service="hotich", prefix="A", minutes=0, priority=None, status=q.TicketStatus.WAITING):
    return q.Ticket(id=id, site="demo", service=service, prefix=prefix, number=id, day=date(2026, 11, 23),
                    issued_at=T0 + timedelta(minutes=minutes), status=status, priority=priority)


def counter(services=("hotich", "chungthuc"), status=q.CounterStatus.OPEN):
    return q.Counter(id="1", site="demo", label="Quầy 1", services=list(services), status=status)


def test_number_format_and_local_day_resets_at_local_midnight():
    assert q.format_number("A", 23) == "A023"
    assert q.format_number("B", 1234) == "B1234"
    # 16:59 UTC is 23:59 in Hà Nội; 17:00 UTC is already the next local day.
    assert q.local_day(datetime(2026, 11, 22, 16, 59, tzinfo=timezone.utc)) == date(2026, 11, 22)
    assert q.local_day(datetime(2026, 11, 22, 17, 0, tzinfo=timezone.utc)) == date(2026, 11, 23)


def test_call_order_preference_then_priority_then_waiting_time():
    c = counter(services=("chungthuc", "hotich"))
    waiting = [
        ticket(1, minutes=0),                                   # hotich, oldest
        ticket(2, service="chungthuc", prefix="B", minutes=5),  # preferred service, plain
        ticket(3, service="chungthuc", prefix="B", minutes=9, priority=q.Priority.ELDERLY),
        ticket(4, minutes=1, priority=q.Priority.PREGNANT),
    ]
    order = []
    pool = list(waiting)
    while pool:
        nxt = q.pick_next(c, pool)
        order.append(nxt.id)
        pool.remove(nxt)
    # chungthuc first (priority B003 before plain B002), then hotich (priority A004 before A001)
    assert order == [3, 2, 4, 1]


def test_ticket_sent_to_a_counter_comes_first_and_only_there():
    c1, c2 = counter(), q.Counter(id="2", site="demo", label="Quầy 2", services=["hotich"], status=q.CounterStatus.OPEN)
    sent = ticket(9, minutes=30)
    sent.target_counter = "1"
    assert q.pick_next(c1, [ticket(1), sent]).id == 9
    assert q.pick_next(c2, [ticket(1), sent]).id == 1
    with pytest.raises(QueueEmpty):
        q.pick_next(c2, [sent])


def test_full_ticket_life_and_counter_release():
    c, t = counter(), ticket(1)
    assert q.call(c, t, None, T0) is None
    assert (t.status, t.counter, c.current_ticket_id, t.called_at) == (q.TicketStatus.CALLED, "1", 1, T0)
    q.start(c, t, T0 + timedelta(minutes=1))
    q.finish(c, t, T0 + timedelta(minutes=6))
    assert t.status == q.TicketStatus.DONE and c.current_ticket_id is None


def test_call_next_finishes_the_one_being_served_but_not_an_unanswered_call():
    c, a, b, d = counter(), ticket(1), ticket(2), ticket(3)
    q.call(c, a, None, T0)
    with pytest.raises(CounterBusy):
        q.call(c, b, a, T0)
    q.start(c, a, T0)
    finished = q.call(c, b, a, T0 + timedelta(minutes=5))
    assert finished is a and a.status == q.TicketStatus.DONE and a.finished_at == T0 + timedelta(minutes=5)
    assert c.current_ticket_id == 2
    with pytest.raises(CounterBusy):
        q.call(c, d, b, T0)


def test_forbidden_transitions():
    c, t = counter(), ticket(1)
    with pytest.raises(InvalidTransition):
        q.finish(c, t, T0)  # finish a waiting ticket
    with pytest.raises(InvalidTransition):
        q.start(c, t, T0)
    q.call(c, t, None, T0)
    with pytest.raises(InvalidTransition):
        q.finish(c, t, T0)  # finish before start
    with pytest.raises(InvalidTransition):
        q.call(c, t, None, T0)  # already called
    other = counter()
    other.id = "2"
    with pytest.raises(InvalidTransition):
        q.start(other, t, T0)  # not at that counter
    with pytest.raises(CounterNotOpen):
        q.call(counter(status=q.CounterStatus.PAUSED), ticket(2), None, T0)
    with pytest.raises(InvalidTransition) as err:
        q.call(counter(services=("cutru",)), ticket(3), None, T0)
    assert err.value.code == "service_not_served"


def test_recall_limit_turns_into_no_show():
    c, t = counter(), ticket(1)
    q.call(c, t, None, T0)
    assert q.recall(c, t, limit=2) is True
    assert q.recall(c, t, limit=2) is True
    assert t.recall_count == 2 and t.status == q.TicketStatus.CALLED
    assert q.recall(c, t, limit=2) is False
    assert t.status == q.TicketStatus.NO_SHOW and c.current_ticket_id is None


def test_park_and_resume_keep_place_and_return_to_same_counter():
    c, t = counter(), ticket(1, minutes=0)
    q.call(c, t, None, T0)
    q.start(c, t, T0)
    q.park(c, t)
    assert t.status == q.TicketStatus.PARKED and c.current_ticket_id is None
    with pytest.raises(InvalidTransition):
        q.call(c, t, None, T0)
    q.resume(t)
    later = ticket(2, minutes=40)
    assert q.pick_next(c, [later, t]).id == 1  # original issue time and the same counter
    assert t.called_at == T0  # the wait figure keeps the first call


def test_transfer_keeps_number_and_issue_time():
    c, t = counter(), ticket(5, minutes=3)
    q.call(c, t, None, T0)
    q.transfer(c, t, "cutru")
    assert (t.status, t.service, t.original_service, t.label, t.issued_at) == (
        q.TicketStatus.WAITING, "cutru", "hotich", "A005", T0 + timedelta(minutes=3))
    assert c.current_ticket_id is None and t.transfer_count == 1
    with pytest.raises(InvalidTransition):
        q.transfer(None, ticket(6, status=q.TicketStatus.DONE), "cutru")


def test_counter_pause_needs_reason_and_idle_counter():
    c = counter()
    with pytest.raises(InvalidInput):
        q.pause_counter(c, "  ")
    q.call(c, ticket(1), None, T0)
    with pytest.raises(CounterBusy):
        q.pause_counter(c, "nghỉ trưa")
    with pytest.raises(CounterBusy):
        q.close_counter(c)
    idle = counter()
    q.pause_counter(idle, "nghỉ trưa")
    assert (idle.status, idle.pause_reason) == (q.CounterStatus.PAUSED, "nghỉ trưa")
    q.open_counter(idle)
    assert idle.pause_reason is None


def test_cancel_only_before_service():
    t = ticket(1)
    q.cancel(t)
    assert t.status == q.TicketStatus.CANCELLED
    with pytest.raises(InvalidTransition):
        q.cancel(t)


def test_estimated_wait_uses_median_and_open_counters():
    assert q.estimate_wait(0, [100], 1) == 0
    assert q.estimate_wait(4, [], 1) == 4 * q.DEFAULT_SERVICE_S
    # median of (60, 120, 1800) is 120: one long case does not blow up the estimate
    assert q.estimate_wait(6, [60, 120, 1800], 2) == 360
    assert q.estimate_wait(3, [200], 0) == 600  # no counter open: as if one were


def drain(c, pool, overdue):
    order, pool = [], list(pool)
    while pool:
        nxt = q.pick_next(c, pool, overdue)
        order.append(nxt.id)
        pool.remove(nxt)
    return order


def test_a_second_choice_waiting_past_the_limit_is_called_ahead_of_preference():
    c = counter(services=("hotich", "chungthuc"))
    # a steady first-choice queue that never empties, and one chungthuc ticket from 08:00
    pool = [ticket(1, service="chungthuc", prefix="B", minutes=0)] + [ticket(n, minutes=n) for n in range(2, 60)]
    at_0830 = q.overdue_before(T0 + timedelta(minutes=30), q.DEFAULT_MAX_WAIT)
    at_0901 = q.overdue_before(T0 + timedelta(minutes=61), q.DEFAULT_MAX_WAIT)
    assert q.pick_next(c, pool, None).id == 2  # without a limit: starved while hotich has people
    assert q.pick_next(c, pool, at_0830).id == 2  # within the hour: preference as before
    assert q.pick_next(c, pool, at_0901).id == 1  # past the hour: reached


def test_late_tickets_go_longest_first_priority_first_and_sent_tickets_stay_ahead():
    c = counter(services=("hotich", "chungthuc"))
    sent = ticket(9, minutes=50)
    sent.target_counter = "1"
    pool = [
        ticket(1, service="chungthuc", prefix="B", minutes=0),                                 # late
        ticket(2, minutes=3),                                                                  # late, preferred
        ticket(3, service="chungthuc", prefix="B", minutes=5, priority=q.Priority.DISABLED),  # late, priority
        ticket(4, minutes=40),                                                                 # not late
        ticket(5, service="chungthuc", prefix="B", minutes=41),                               # not late
        sent,
    ]
    overdue = q.overdue_before(T0 + timedelta(minutes=70), timedelta(minutes=60))  # 08:10
    assert drain(c, pool, overdue) == [9, 3, 1, 2, 4, 5]


def test_counter_busy_names_the_ticket_at_the_counter():
    c, t = counter(), ticket(7)
    q.call(c, t, None, T0)
    with pytest.raises(CounterBusy) as err:
        q.ensure_can_call(c, t)
    assert err.value.details == {"ticket": {"id": 7, "number": "A007", "status": "called"}}
    with pytest.raises(CounterBusy) as err:
        q.close_counter(c, t)
    assert err.value.details["ticket"]["number"] == "A007"


def test_a_counter_pointing_at_a_ticket_it_does_not_hold_is_freed_not_stuck():
    c1 = counter()
    c2 = q.Counter(id="2", site="demo", label="Quầy 2", services=["hotich"], status=q.CounterStatus.OPEN)
    t = ticket(1)
    q.call(c1, t, None, T0)
    c2.current_ticket_id = t.id  # what the PostgreSQL race once left behind
    assert q.held_ticket(c1, t) is t
    assert q.held_ticket(c2, t) is None and c2.current_ticket_id is None
    q.call(c2, ticket(2), None, T0)  # counter 2 calls again
    assert c2.current_ticket_id == 2
