"""Remote tickets on plain objects: setting aside, checking in, the walk-in share, the phone limit."""

from datetime import date, datetime, timedelta, timezone

import pytest

from server.domain import queue as q
from server.domain import remote as r
from server.domain.errors import QueueEmpty

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


def ticket(id, minutes=0, remote=False, checked_in=False, priority=None):
    t = q.Ticket(id=id, site="demo", service="hotich", prefix="A", number=id, day=date(2026, 11, 23),
                 issued_at=T0 + timedelta(minutes=minutes), priority=priority, remote=remote)
    if checked_in:
        t.checked_in_at = T0
    return t


def counter():
    return q.Counter(id="1", site="demo", label="Quầy 1", services=["hotich"], status=q.CounterStatus.OPEN)


def test_absent_remote_tickets_are_set_aside_and_the_next_present_one_is_picked():
    absent1, absent2 = ticket(1, 0, remote=True), ticket(2, 1, remote=True)
    present_remote, walk_in = ticket(3, 2, remote=True, checked_in=True), ticket(4, 3)
    picked, aside = q.pick_present(counter(), [walk_in, absent2, present_remote, absent1])
    assert picked is present_remote
    assert [t.id for t in aside] == [1, 2]
    assert absent1.status == absent2.status == q.TicketStatus.SET_ASIDE
    assert walk_in.status == q.TicketStatus.WAITING


def test_only_absent_ones_waiting_sets_them_aside_and_calls_nobody():
    absent = ticket(1, remote=True)
    assert q.pick_present(counter(), [absent]) == (None, [absent])
    with pytest.raises(QueueEmpty):
        q.pick_present(counter(), [])


def test_check_in_before_the_turn_keeps_the_place_after_it_goes_to_the_end():
    early = ticket(1, 0, remote=True)
    assert q.check_in(early, T0 + timedelta(minutes=30)) is True
    assert early.issued_at == T0 and early.status == q.TicketStatus.WAITING  # kept its place
    assert q.check_in(early, T0 + timedelta(minutes=40)) is False  # twice: nothing more

    late = ticket(2, 0, remote=True)
    q.set_aside_absent(late)
    back = T0 + timedelta(minutes=50)
    assert q.check_in(late, back) is True
    assert late.status == q.TicketStatus.WAITING and late.issued_at == back and late.checked_in_at == back
    walk_in = ticket(3, 45)
    assert q.pick_next(counter(), [late, walk_in]) is walk_in  # who waited in the hall goes first


def test_walk_in_and_finished_tickets_are_not_checked_in_or_set_aside():
    walk_in = ticket(1)
    assert q.check_in(walk_in, T0) is False and walk_in.checked_in_at is None
    with pytest.raises(q.InvalidTransition):
        q.set_aside_absent(walk_in)
    called = ticket(2, remote=True)
    called.status = q.TicketStatus.CALLED
    assert q.check_in(called, T0) is False


def test_set_aside_ticket_may_be_cancelled():
    t = ticket(1, remote=True)
    q.set_aside_absent(t)
    q.cancel(t)
    assert t.status == q.TicketStatus.CANCELLED


def rules(capacity=10, share=70, per_phone=1):
    return r.parse_rules({"remote": {"per_phone_per_day": per_phone,
                                     "services": {"hotich": {"capacity": capacity, "walk_in_share": share}}}})


def test_walk_in_share_day_full_and_phone_limit_refuse_in_vietnamese():
    rule = r.check_join(rules(), "hotich", r.DayCounts(0, 0, 0))
    assert rule.remote_places == 3  # 30% of 10
    with pytest.raises(r.RemoteRefused) as off:
        r.check_join(rules(), "chungthuc", r.DayCounts(0, 0, 0))
    assert off.value.code == "remote_off" and off.value.message.startswith("Lĩnh vực này hiện không nhận lấy số từ xa")
    with pytest.raises(r.RemoteRefused) as off:
        r.check_join(None, "hotich", r.DayCounts(0, 0, 0))
    assert off.value.code == "remote_off"
    with pytest.raises(r.RemoteRefused) as share:
        r.check_join(rules(), "hotich", r.DayCounts(5, 3, 0))
    assert share.value.code == "remote_share_full"
    assert "các chỗ còn lại dành cho người đến trực tiếp" in share.value.message
    with pytest.raises(r.RemoteRefused) as full:
        r.check_join(rules(), "hotich", r.DayCounts(10, 1, 0))
    assert full.value.code == "remote_day_full"
    with pytest.raises(r.RemoteRefused) as phone:
        r.check_join(rules(per_phone=2), "hotich", r.DayCounts(1, 1, 2))
    assert phone.value.code == "phone_daily_limit" and "tối đa 2 số mỗi ngày" in phone.value.message
    with pytest.raises(r.RemoteRefused) as none_left:
        r.check_join(rules(share=100), "hotich", r.DayCounts(0, 0, 0))  # everything kept for walk-ins
    assert none_left.value.code == "remote_off"


@pytest.mark.parametrize("remote, message", [
    ([], "must be a table"),
    ({"services": {"hotich": {"walk_in_share": 50}}}, "capacity is required"),
    ({"services": {"hotich": {"capacity": 10, "walk_in_share": 101}}}, "walk_in_share must be a whole number"),
    ({"services": {"hotich": {"capacity": 10, "share": 5}}}, "unknown keys: share"),
    ({"per_phone_per_day": 0}, "per_phone_per_day must be a whole number from 1"),
    ({"per_phone": 1}, "unknown keys: per_phone"),
])
def test_bad_settings_name_the_key(remote, message):
    with pytest.raises(r.RemoteSettingsError, match=message):
        r.parse_rules({"remote": remote})
    assert r.parse_rules({}) is None


def test_site_load_refuses_a_bad_remote_table_naming_the_key(tmp_path):
    from server.storage.catalog import SiteFileError, demo_site_file, parse_site_file

    text = demo_site_file().read_text(encoding="utf-8").replace("walk_in_share = 70", "walk_in_share = 170")
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SiteFileError, match=r"\[site.settings\] settings.remote.services.hotich.walk_in_share must be"):
        parse_site_file(path)
    assert parse_site_file(demo_site_file())["site"]["settings"]["remote"]["services"]["hotich"]["capacity"] == 60
