"""Dossier lifecycle: transitions, history, due dates, timeliness, apology slips, codes.

The expected transition table is written out here independently of the module (from the design
and the national status list) and the module's table must equal it.
"""

import dataclasses
from datetime import date, datetime, time, timedelta, timezone

import pytest

from server.domain import errors
from server.domain.calendar import Timeliness, WorkingCalendar
from server.domain.dossiers import (
    ALLOWED_TRANSITIONS,
    FINAL_STATUSES,
    ApologyNotDue,
    Channel,
    DossierError,
    DossierStatus,
    InvalidAppointment,
    InvalidDossierCode,
    InvalidTransition,
    NoteRequired,
    OutOfOrder,
    UnknownStatus,
    apology_due,
    change_status,
    current_due_date,
    format_dossier_code,
    issue_apology,
    open_dossier,
    parse_dossier_code,
    timeliness,
)

VN = timezone(timedelta(hours=7))
CAL = WorkingCalendar()


def at(y, m, d, hh=9, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN)


EXPECTED = {
    "submitted": {"received", "refused", "withdrawn"},
    "received": {"processing", "supplement_requested", "fee_due", "withdrawn", "resolved",
                 "paused", "refused"},
    "processing": {"supplement_requested", "fee_due", "paused", "resolved", "withdrawn",
                   "refused"},
    "supplement_requested": {"processing", "withdrawn", "refused"},
    "fee_due": {"processing", "resolved", "withdrawn"},
    "paused": {"processing", "withdrawn"},
    "resolved": {"returned"},
    "returned": set(),
    "withdrawn": set(),
    "refused": set(),
}
# How to reach each status from a fresh online dossier (which starts "submitted").
PATH = {
    "submitted": [],
    "received": ["received"],
    "processing": ["received", "processing"],
    "supplement_requested": ["received", "supplement_requested"],
    "fee_due": ["received", "fee_due"],
    "paused": ["received", "paused"],
    "resolved": ["received", "resolved"],
    "returned": ["received", "resolved", "returned"],
    "withdrawn": ["withdrawn"],
    "refused": ["refused"],
}
ALL = list(EXPECTED)


def online_dossier():
    # Submitted Sat 22/11/2025 online; nobody accepts it until Monday.
    return open_dossier("H12.34-251122-0001", "1.004873", 3, "online",
                        by="portal", at=at(2025, 11, 22, 20), calendar=CAL)


def walk(dossier, statuses, start=at(2025, 11, 24, 9)):
    """Apply ``statuses`` one hour apart, each with a note."""
    for i, status in enumerate(statuses):
        change_status(dossier, status, by=f"official{i}", at=start + timedelta(hours=i),
                      note=f"step {i}", calendar=CAL)
    return dossier


def dossier_in(status):
    d = walk(online_dossier(), PATH[status])
    assert d.status == status
    return d


def test_table_matches_the_design():
    assert {str(k): {str(v) for v in vs} for k, vs in ALLOWED_TRANSITIONS.items()} == EXPECTED
    assert FINAL_STATUSES == {"returned", "withdrawn", "refused"}


def test_national_codes_and_labels():
    codes = {s: DossierStatus(s).national_code for s in ALL}
    assert codes == {"submitted": 1, "received": 2, "refused": 3, "processing": 4,
                     "supplement_requested": 5, "fee_due": 6, "withdrawn": 7, "paused": 8,
                     "resolved": 9, "returned": 10}
    assert DossierStatus.SUPPLEMENT_REQUESTED.label_vi == "Yêu cầu bổ sung giấy tờ"
    assert DossierStatus.RESOLVED.label_vi == "Đã xử lý xong"
    assert DossierStatus.RETURNED.label_en == "Result returned"
    assert all(DossierStatus(s).label_vi and DossierStatus(s).label_en for s in ALL)


@pytest.mark.parametrize(("source", "target"),
                         [(s, t) for s, ts in EXPECTED.items() for t in sorted(ts)])
def test_every_allowed_transition_works_and_is_kept(source, target):
    d = dossier_in(source)
    before = d.history
    when = at(2025, 11, 26, 10)
    change = change_status(d, target, by="Nguyễn Thị Lan", at=when, note="lý do: thiếu giấy",
                           calendar=CAL)
    assert d.status == target
    assert d.history == (*before, change)  # appended, earlier entries untouched
    assert (change.from_status, change.to_status) == (source, target)
    assert (change.by, change.at, change.note) == ("Nguyễn Thị Lan", when, "lý do: thiếu giấy")


@pytest.mark.parametrize(("source", "target"),
                         [(s, t) for s in ALL for t in ALL if t not in EXPECTED[s]])
def test_every_other_transition_is_refused_and_changes_nothing(source, target):
    d = dossier_in(source)
    snapshot = dataclasses.replace(d)
    with pytest.raises(InvalidTransition) as info:
        change_status(d, target, by="x", at=at(2025, 11, 26), note="n", calendar=CAL)
    assert info.value.code == "invalid_transition"
    assert f"'{source}'" in str(info.value) and f"'{target}'" in str(info.value)
    assert d == snapshot


@pytest.mark.parametrize("final", ["returned", "withdrawn", "refused"])
def test_final_states_accept_nothing(final):
    d = dossier_in(final)
    for target in ALL:
        with pytest.raises(InvalidTransition, match="is final"):
            change_status(d, target, by="x", at=at(2025, 11, 27), note="n", calendar=CAL)


def test_invalid_transition_is_also_the_shared_domain_error():
    with pytest.raises(errors.InvalidTransition):
        change_status(dossier_in("submitted"), "processing", by="x", at=at(2025, 11, 24),
                      calendar=CAL)
    with pytest.raises(UnknownStatus):
        change_status(dossier_in("received"), "archived", by="x", at=at(2025, 11, 24),
                      calendar=CAL)


@pytest.mark.parametrize(("source", "target"), [
    ("received", "supplement_requested"), ("processing", "paused"),
    ("processing", "refused"), ("submitted", "withdrawn"),
])
@pytest.mark.parametrize("note", [None, "", "   "])
def test_some_changes_need_a_note(source, target, note):
    d = dossier_in(source)
    with pytest.raises(NoteRequired) as info:
        change_status(d, target, by="x", at=at(2025, 11, 26), note=note, calendar=CAL)
    assert info.value.code == "note_required"
    assert d.status == source


def test_notes_are_optional_elsewhere():
    d = dossier_in("received")
    change = change_status(d, "processing", by="x", at=at(2025, 11, 24, 10), calendar=CAL)
    assert change.note is None


def test_history_entries_are_immutable():
    d = dossier_in("processing")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.history[-1].note = "rewritten"
    assert isinstance(d.history, tuple)


def test_changes_must_be_in_time_order():
    d = dossier_in("processing")  # last change Mon 24/11 10:00
    with pytest.raises(OutOfOrder):
        change_status(d, "resolved", by="x", at=at(2025, 11, 24, 9, 30), calendar=CAL)


def test_counter_dossier_is_received_at_once_with_a_due_date():
    d = open_dossier("H12.34-251124-0003", "1.001193", 0, Channel.DIRECT,
                     by="Lan", at=at(2025, 11, 24, 15, 1), calendar=CAL, cutoff=time(15, 0))
    assert d.status == "received"
    assert d.due_date == date(2025, 11, 25)  # same-day procedure after its 15:00 cut-off -> Tue
    assert d.history[0].from_status is None and d.history[0].by == "Lan"


def test_online_dossier_is_dated_when_accepted():
    d = online_dossier()
    assert (d.status, d.received_at, d.due_date) == ("submitted", None, None)
    change_status(d, "received", by="Lan", at=at(2025, 11, 24, 8), calendar=CAL)
    # Accepted Mon 24/11 08:00, 3 days -> Thu 27/11 (not from Saturday's submission).
    assert d.received_at == at(2025, 11, 24, 8)
    assert d.due_date == date(2025, 11, 27)


def test_supplement_wait_moves_the_due_date():
    d = open_dossier("H12.34-251124-0004", "1.001776", 5, "direct",
                     by="Lan", at=at(2025, 11, 24, 9), calendar=CAL)
    assert d.due_date == date(2025, 12, 1)  # Tue 25 .. Mon 1/12
    change_status(d, "processing", by="Hùng", at=at(2025, 11, 25, 9), calendar=CAL)
    change_status(d, "supplement_requested", by="Hùng", at=at(2025, 11, 27, 10),
                  note="Thiếu bản sao giấy khai sinh", calendar=CAL)
    assert d.due_date == date(2025, 12, 1)  # unchanged while waiting
    change_status(d, "processing", by="Lan", at=at(2025, 12, 1, 14), calendar=CAL)
    # Fri 28 and Mon 1 given back: Mon 1/12 + 2 -> Wed 3/12.
    assert d.due_date == date(2025, 12, 3)


def test_paused_does_not_stop_the_clock():
    d = dossier_in("received")  # accepted Mon 24/11 09:00, 3 days -> Thu 27/11
    change_status(d, "paused", by="x", at=at(2025, 11, 25), note="chờ xác minh", calendar=CAL)
    change_status(d, "processing", by="x", at=at(2025, 11, 28), calendar=CAL)
    assert d.due_date == date(2025, 11, 27)


def test_resolved_and_returned_times_are_recorded():
    d = dossier_in("processing")
    change_status(d, "resolved", by="x", at=at(2025, 11, 26, 16), calendar=CAL)
    change_status(d, "returned", by="y", at=at(2025, 11, 27, 8), calendar=CAL)
    assert (d.resolved_at, d.returned_at) == (at(2025, 11, 26, 16), at(2025, 11, 27, 8))


# -- timeliness (accepted Mon 24/11/2025, 3 days -> due Thu 27/11) -------------------------------


@pytest.mark.parametrize(("resolved_day", "expected"), [
    (26, Timeliness.AHEAD), (27, Timeliness.ON_TIME), (28, Timeliness.LATE),
])
def test_resolved_dossier_timeliness(resolved_day, expected):
    d = dossier_in("processing")
    change_status(d, "resolved", by="x", at=at(2025, 11, resolved_day, 16), calendar=CAL)
    change_status(d, "returned", by="x", at=at(2025, 12, 5), calendar=CAL)
    assert timeliness(d, today=date(2025, 12, 10), calendar=CAL) is expected


def test_open_dossier_timeliness():
    d = dossier_in("processing")
    assert timeliness(d, today=date(2025, 11, 27), calendar=CAL) is Timeliness.WITHIN
    assert timeliness(d, today=date(2025, 11, 28), calendar=CAL) is Timeliness.PAST_DUE
    assert timeliness(dossier_in("withdrawn"), today=date(2025, 11, 28), calendar=CAL) is None
    assert timeliness(online_dossier(), today=date(2025, 11, 28), calendar=CAL) is None


def test_waiting_for_a_supplement_is_never_past_due():
    d = dossier_in("processing")
    change_status(d, "supplement_requested", by="x", at=at(2025, 11, 25, 14),
                  note="thiếu giấy", calendar=CAL)
    # On Tue 2/12 the legal due day Thu 27/11 has passed, but the clock stopped Tue 25/11:
    # Wed 26 .. Tue 2/12 (5 working days) are given back provisionally -> Thu 4/12.
    assert current_due_date(d, today=date(2025, 12, 2), calendar=CAL) == date(2025, 12, 4)
    assert timeliness(d, today=date(2025, 12, 2), calendar=CAL) is Timeliness.WITHIN
    assert not apology_due(d, today=date(2025, 12, 2), calendar=CAL)


# -- apology slip (Mẫu 04) ------------------------------------------------------------------------


def test_apology_due_only_when_past_due():
    d = dossier_in("processing")  # due Thu 27/11/2025
    assert not apology_due(d, today=date(2025, 11, 27), calendar=CAL)
    assert apology_due(d, today=date(2025, 11, 28), calendar=CAL)
    with pytest.raises(ApologyNotDue):
        issue_apology(d, date(2025, 12, 2), by="x", at=at(2025, 11, 27), reason="r", calendar=CAL)


@pytest.mark.parametrize(("new_date", "why"), [
    (date(2025, 11, 28), "today"),
    (date(2025, 11, 26), "in the past"),
    (date(2025, 11, 29), "a Saturday"),
    (date(2026, 2, 17), "Tết"),
])
def test_apology_new_date_must_be_a_later_working_day(new_date, why):
    d = dossier_in("processing")
    with pytest.raises(InvalidAppointment):
        issue_apology(d, new_date, by="x", at=at(2025, 11, 28), reason="r", calendar=CAL)
    assert d.apologies == ()


def test_apology_is_recorded_and_resets_the_promise():
    d = dossier_in("processing")
    with pytest.raises(NoteRequired):
        issue_apology(d, date(2025, 12, 2), by="x", at=at(2025, 11, 28), reason=" ", calendar=CAL)
    slip = issue_apology(d, date(2025, 12, 2), by="Chủ tịch UBND", at=at(2025, 11, 28),
                         reason="Chờ xác minh của Công an xã", calendar=CAL)
    assert (slip.due_date, slip.new_date, slip.dossier_code) == (
        date(2025, 11, 27), date(2025, 12, 2), d.code)
    assert d.promised_date == date(2025, 12, 2)
    assert d.due_date == date(2025, 11, 27)  # reports still judge by the legal date
    assert not apology_due(d, today=date(2025, 12, 2), calendar=CAL)
    assert apology_due(d, today=date(2025, 12, 3), calendar=CAL)  # second promise broken
    assert timeliness(d, today=date(2025, 11, 28), calendar=CAL) is Timeliness.PAST_DUE


# -- dossier codes ------------------------------------------------------------------------------


def test_format_dossier_code():
    assert format_dossier_code("H12.34", date(2025, 11, 22), 7) == "H12.34-251122-0007"
    assert format_dossier_code("000.00.12.H53", date(2026, 1, 5), 9999) == "000.00.12.H53-260105-9999"


@pytest.mark.parametrize(("site", "n"), [("H12.34", 0), ("H12.34", -1), ("H12-34", 1),
                                         ("H12/34", 1), ("", 1)])
def test_format_dossier_code_rejects(site, n):
    with pytest.raises(InvalidDossierCode):
        format_dossier_code(site, date(2025, 11, 22), n)


def test_parse_dossier_code():
    assert parse_dossier_code("H12.34-251122-0007") == ("H12.34", date(2025, 11, 22), 7)
    for bad in ("H12.34-251122-7", "H12.34-251332-0007", "H12.34-251122-0000", "251122-0007"):
        with pytest.raises(InvalidDossierCode):
            parse_dossier_code(bad)
    with pytest.raises(ValueError):  # also a ValueError, for callers that only know that
        parse_dossier_code("nonsense")


def test_errors_carry_codes_and_translation_keys():
    err = NoteRequired("why?")
    assert isinstance(err, DossierError) and isinstance(err, errors.DomainError)
    assert (err.code, err.kind, err.translation_key) == (
        "note_required", "invalid", "dossier.error.note_required")
