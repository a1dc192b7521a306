"""Appointments through the HTTP API of a live server with the modem simulator (issue 13 part 1):
the manager's plan, closed days, booking with a verified phone, capacity and the per-phone limit,
cancel, check-in at the kiosk (a ticket called ahead of walk-ins inside the window), reminders
the day before sent once, and the director's figures (part 5)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from server.domain import appointments as ap
from server.domain.calendar import WorkingCalendar
from tests.support.appointments import TZ, local_now, open_days, slot_around_now, sms_to, verify
from tests.support.live import LiveSite


@pytest.fixture
def site(tmp_path):
    live = LiveSite(tmp_path)
    live.settings = live.settings.model_copy(update={"notify_modem": "sim://"})
    live.start()
    yield live
    live.stop()


def _next_working(cal: WorkingCalendar, after: date) -> date:
    day = after + timedelta(days=1)
    while not cal.is_working_day(day):
        day += timedelta(days=1)
    return day


def test_plan_is_checked_and_closed_days_have_no_slots(site):
    manager = site.client("giamdoc")
    bad = manager.put("/api/v1/sites/demo/appointment-plans/hotich",
                      json={"slots": [{"start": "08:00", "end": "07:00", "capacity": 3}]})
    assert bad.status_code == 422 and "slots[0]" in bad.json()["error"]["message"]
    assert manager.put("/api/v1/sites/demo/appointment-plans/nope", json={"slots": []}).status_code == 404
    assert site.client("canbo1").put("/api/v1/sites/demo/appointment-plans/hotich", json={}).status_code == 403
    r = manager.put("/api/v1/sites/demo/appointment-plans/hotich", json={
        "slots": [{"start": "08:00", "end": "09:00", "capacity": 3}], "days_ahead": 14})
    assert r.status_code == 200, r.text
    data = site.client().get("/api/v1/sites/demo/appointments/slots").json()
    days = [date.fromisoformat(d["day"]) for d in data["services"][0]["days"]]
    cal = WorkingCalendar()
    assert days and all(cal.is_working_day(d) for d in days)
    assert not any(d.weekday() >= 5 for d in days)  # no Saturday or Sunday
    assert date(2027, 1, 1) not in days


def test_book_capacity_limit_cancel_check_in_and_order(site):
    today = local_now().date()
    tomorrow = today + timedelta(days=1)
    open_days(site, today, tomorrow)
    manager = site.client("giamdoc")
    later = {"start": "09:00", "end": "10:00", "capacity": 5}
    r = manager.put("/api/v1/sites/demo/appointment-plans/hotich", json={
        "slots": [slot_around_now(1)], "per_phone": 2,
        "dates": {tomorrow.isoformat(): [later]}})
    assert r.status_code == 200, r.text
    slot = r.json()["slots"][0]["start"]
    web = site.client()
    mine = verify(site, web, "0912 345 678", "+84912345678")
    other = verify(site, web, "0987 654 321", "+84987654321")

    booked = web.post("/api/v1/sites/demo/appointments", json={
        "service": "hotich", "day": today.isoformat(), "start": slot, "proof": mine})
    assert booked.status_code == 201, booked.text
    a = booked.json()
    assert a["status"] == "booked" and a["phone"] == "091* *** 678" and a["url"].endswith("/a/" + a["token"])
    full = web.post("/api/v1/sites/demo/appointments", json={
        "service": "hotich", "day": today.isoformat(), "start": slot, "proof": other})
    assert full.status_code == 409 and full.json()["error"]["code"] == "slot_full"
    assert full.json()["error"]["message"].startswith("Khung giờ này đã hết chỗ.")
    unverified = web.post("/api/v1/sites/demo/appointments", json={
        "service": "hotich", "day": today.isoformat(), "start": slot, "proof": "made-up-proof"})
    assert unverified.status_code == 403 and unverified.json()["error"]["code"] == "phone_not_verified"

    second = web.post("/api/v1/sites/demo/appointments", json={
        "service": "hotich", "day": tomorrow.isoformat(), "start": "09:00", "proof": mine})
    assert second.status_code == 201, second.text
    third = web.post("/api/v1/sites/demo/appointments", json={
        "service": "hotich", "day": tomorrow.isoformat(), "start": "09:00", "proof": mine})
    assert third.status_code == 409 and third.json()["error"]["code"] == "phone_limit"
    assert "tối đa 2" in third.json()["error"]["message"]
    listed = web.post("/api/v1/sites/demo/appointments/mine", json={"proof": mine}).json()["appointments"]
    assert [x["token"] for x in listed] == [a["token"], second.json()["token"]]

    cancelled = web.post(f"/api/v1/appointments/{second.json()['token']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    slots = web.get("/api/v1/sites/demo/appointments/slots").json()["services"][0]["days"]
    assert [s["left"] for d in slots if d["day"] == tomorrow.isoformat() for s in d["slots"]] == [5]

    kiosk = site.client("kiosk")
    walk_ins = [kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich", "idempotency_key": f"walk-{i}-xxxx"})
                .json()["number"] for i in range(3)]
    checked = kiosk.post("/api/v1/sites/demo/appointments/check-in", json={"token": a["url"]})
    assert checked.status_code == 201, checked.text
    ticket = checked.json()
    assert ticket["appointment"]["in_window"] is True and ticket["number"] == "A004" and ticket["ahead"] == 0
    walk_in_view = web.get(f"/api/v1/track/{kiosk.post('/api/v1/sites/demo/tickets', json={'service': 'hotich', 'idempotency_key': 'walk-9-xxxx'}).json()['token']}").json()
    assert walk_in_view["ahead"] == 4  # three earlier walk-ins and the booked citizen
    again = kiosk.post("/api/v1/sites/demo/appointments/check-in", json={"token": a["token"]})
    assert again.status_code == 200 and again.json()["id"] == ticket["id"]  # never a second ticket
    assert web.get(f"/api/v1/appointments/{a['token']}").json()["status"] == "arrived"
    assert web.post(f"/api/v1/appointments/{a['token']}/cancel").status_code == 409

    official = site.client("canbo1")
    official.post("/api/v1/sites/demo/counters/1/open")
    called = []
    for _ in range(2):
        ticket_now = official.post("/api/v1/sites/demo/counters/1/call-next").json()
        called.append(ticket_now["number"])
        assert official.post(f"/api/v1/tickets/{ticket_now['id']}/start").status_code == 200
    assert called == ["A004", walk_ins[0]]  # the booked citizen first, then walk-ins in order

    not_today = kiosk.post("/api/v1/sites/demo/appointments/check-in", json={"token": second.json()["token"]})
    assert not_today.status_code == 409 and not_today.json()["error"]["code"] == "appointment_cancelled"


def test_reminder_the_day_before_sent_once_and_figures(site):
    cal = WorkingCalendar()
    today = local_now().date()
    day = _next_working(cal, today + timedelta(days=1))
    manager = site.client("giamdoc")
    manager.put("/api/v1/sites/demo/appointment-plans/chungthuc", json={
        "slots": [{"start": "14:00", "end": "15:00", "capacity": 4}]})
    web = site.client()
    proof = verify(site, web, "0903 111 222", "+84903111222")
    r = web.post("/api/v1/sites/demo/appointments", json={
        "service": "chungthuc", "day": day.isoformat(), "start": "14:00", "proof": proof})
    assert r.status_code == 201, r.text
    store = site.app.state.appointments
    before_evening = datetime.combine(day - timedelta(days=1), time(15, 59), TZ)
    assert store.send_due_reminders(now=before_evening) == 0
    evening = datetime.combine(day - timedelta(days=1), time(16, 5), TZ)
    modem = site.app.state.notice_sender.notifier.modem
    count = len(modem.sent)
    assert store.send_due_reminders(now=evening) == 1
    sms = sms_to(site, "+84903111222", "Nhac lich hen", count)
    assert f"luc 14:00 ngay {day:%d/%m/%Y}" in sms.text and sms.text.isascii() and len(sms.text) <= 160
    assert store.send_due_reminders(now=evening + timedelta(minutes=5)) == 0  # never twice
    assert web.get(f"/api/v1/appointments/{r.json()['token']}").json()["reminder"] == "sent"

    store.close_days(now=datetime.combine(day + timedelta(days=1), time(8, 0), TZ))
    figures = manager.get(f"/api/v1/sites/demo/appointments/figures?from={day}&to={day}").json()
    assert figures["appointments"] == [{"day": day.isoformat(), "service": "chungthuc",
                                        "service_name": "Chứng thực", "booked": 1,
                                        "arrived": 0, "no_show": 1, "cancelled": 0, "not_yet": 0}]
    assert figures["notices"]["reminders"] == {"sent": 1, "failed": 0, "pending": 0}
    assert web.get(f"/api/v1/appointments/{r.json()['token']}").json()["phone"] is None  # erased


def test_plan_rules_in_the_domain():
    plan = ap.parse_plan({"slots": [{"start": "08:00", "end": "09:00", "capacity": 2}], "days_ahead": 3,
                          "dates": {"2026-12-08": []}})
    cal = WorkingCalendar()
    assert ap.slots_on(plan, cal, date(2026, 12, 7))  # a Monday
    assert ap.slots_on(plan, cal, date(2026, 12, 8)) == ()  # closed by the manager
    assert ap.slots_on(plan, cal, date(2026, 12, 12)) == ()  # Saturday
    with pytest.raises(ap.PlanError, match="overlap"):
        ap.parse_plan({"slots": [{"start": "08:00", "end": "09:00", "capacity": 1},
                                 {"start": "08:30", "end": "09:30", "capacity": 1}]})
    with pytest.raises(ap.BookingRefused) as refused:
        ap.check_bookable(plan, cal, date(2026, 12, 12), "08:00", datetime(2026, 12, 10, 1, 0, tzinfo=TZ), TZ)
    assert refused.value.code == "day_closed" and refused.value.message.startswith("Ngày 12/12/2026 trung tâm không làm việc.")


def test_call_order_before_inside_and_after_the_window():
    """The domain's order: a booked ticket is a walk-in before its slot, first inside it, a walk-in after."""
    from server.domain import queue as q

    t0 = datetime(2026, 12, 7, 1, 0, tzinfo=TZ)  # 08:00 local
    counter = q.Counter("1", "demo", "Quầy 1", ["hotich"], q.CounterStatus.OPEN)

    def ticket(i, minutes, window=None):
        return q.Ticket(i, "demo", "hotich", "A", i, t0.date(), t0 + timedelta(minutes=minutes),
                        window_start=window[0] if window else None, window_end=window[1] if window else None)

    walk_ins = [ticket(1, 0), ticket(2, 5)]
    booked = ticket(3, 10, (t0 + timedelta(minutes=30), t0 + timedelta(minutes=90)))
    pool = [*walk_ins, booked]
    assert q.pick_next(counter, pool, None, t0 + timedelta(minutes=20)).id == 1  # early: a walk-in
    assert q.pick_next(counter, pool, None, t0 + timedelta(minutes=30)).id == 3  # the slot starts
    assert q.pick_next(counter, pool, None, t0 + timedelta(minutes=90)).id == 3  # its last minute
    assert q.pick_next(counter, pool, None, t0 + timedelta(minutes=91)).id == 1  # after: by check-in time


def test_late_check_in_is_a_walk_in(site):
    today = local_now().date()
    open_days(site, today)
    slot = slot_around_now(2)
    site.client("giamdoc").put("/api/v1/sites/demo/appointment-plans/hotich", json={"slots": [slot]})
    web = site.client()
    proof = verify(site, web, "0912 345 678", "+84912345678")
    a = web.post("/api/v1/sites/demo/appointments", json={
        "service": "hotich", "day": today.isoformat(), "start": slot["start"], "proof": proof}).json()
    end = datetime.combine(today, time.fromisoformat(slot["end"]), TZ)
    ticket, created = site.app.state.appointments.check_in("demo", a["token"], now=end + timedelta(minutes=1))
    assert created and ticket["appointment"]["when"] == "late" and ticket["appointment"]["in_window"] is False
