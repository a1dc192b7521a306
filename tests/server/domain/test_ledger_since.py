"""``ledger_since`` (one replay) gives the very flows a second replay of the earlier history would:
for every earlier state of several dossiers — direct and online, a supplement asked twice, a fee
paid online, resolved late with an apology, refused before acceptance."""

import dataclasses
from datetime import date, datetime, timedelta, timezone

import pytest

from server.domain.calendar import WorkingCalendar
from server.domain.dossiers import change_status, issue_apology, open_dossier
from server.domain.ledger import ledger, ledger_since, new_flows

VN = timezone(timedelta(hours=7))
CAL = WorkingCalendar()
START = datetime(2026, 10, 5, 9, tzinfo=VN)  # a Monday


def lived(channel, steps, legal_days=3, apology_after=None):
    """A dossier opened at START by canbo1, then ``steps`` ((status, days later, extra), …);
    an apology after step ``apology_after``."""
    dossier = open_dossier("X-261005-0001", "1.004873", legal_days, channel, by="canbo1", at=START, calendar=CAL,
                           components_digitised=True if channel == "direct" else None)
    for i, (status, days, extra) in enumerate(steps):
        change_status(dossier, status, by="canbo2", at=START + timedelta(days=days), calendar=CAL, **extra)
        if apology_after == i:
            issue_apology(dossier, date(2026, 10, 30), by="canbo2", at=START + timedelta(days=days, hours=1),
                          reason="Chậm", calendar=CAL)
    return dossier


NOTE = {"note": "Thiếu giấy"}
DOSSIERS = {
    "direct, supplement twice, resolved": lived("direct", [
        ("processing", 1, {}), ("supplement_requested", 2, NOTE), ("processing", 3, {}),
        ("supplement_requested", 4, {**NOTE, "reason": "Lần hai"}), ("processing", 5, {}),
        ("resolved", 6, {"result_digitised": True}), ("returned", 7, {})]),
    "direct, fee paid online, late, apology": lived("direct", [
        ("processing", 1, {}), ("fee_due", 2, {}), ("processing", 3, {"paid_online": True}),
        ("resolved", 15, {})], legal_days=1, apology_after=2),
    "online, accepted by another official": lived("online", [
        ("received", 1, {"components_digitised": True}), ("processing", 2, {}), ("resolved", 3, {}),
        ("returned", 4, {})]),
    "online, refused before acceptance": lived("online", [("refused", 1, {"note": "Sai thủ tục"})]),
}


@pytest.mark.parametrize("name", DOSSIERS)
def test_flows_since_an_earlier_state_equal_those_of_two_replays(name):
    dossier = DOSSIERS[name]
    spans, flows = ledger(dossier, CAL)
    checked = 0
    for changes in range(0, len(dossier.history) + 1):
        for apologies in range(0, len(dossier.apologies) + 1):
            if changes == 0 and apologies:
                continue
            earlier = dataclasses.replace(dossier, history=dossier.history[:changes],
                                          apologies=dossier.apologies[:apologies])
            before = ledger(earlier, CAL)[1] if changes else []
            got_spans, got_flows, added = ledger_since(dossier, CAL, changes, apologies)
            assert (got_spans, got_flows) == (spans, flows)
            assert sorted(added, key=repr) == sorted(new_flows(before, flows), key=repr), (changes, apologies)
            checked += 1
    assert checked >= len(dossier.history)
    assert flows and any(f.kind != "received" for f in flows)
