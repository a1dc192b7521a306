"""Dossier codes in the site shape and the two legal shapes of 2025; per-procedure cut-offs."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from server.domain.calendar import WorkingCalendar
from server.domain.dossier_codes import CodeFormat, CodeShape, InvalidDossierCode, ParsedCode, parse_code
from server.domain.dossiers import Channel, open_dossier

DAY = date(2025, 11, 22)


@pytest.mark.parametrize(("fmt", "n", "code"), [
    (CodeFormat(), 7, "SITE-251122-0007"),
    (CodeFormat(CodeShape.SITE, "H12.34"), 9999, "H12.34-251122-9999"),
    (CodeFormat(CodeShape.TT03, "000.00.12.H12"), 7, "000.00.12.H12-251122-0007"),
    (CodeFormat(CodeShape.TT03, "000.00.12.H12"), 10000, "000.00.12.H12-251122-10000"),  # widens
    (CodeFormat(CodeShape.TT04, "H12.123.45", "01"), 7, "H12.123.45-251122-010007"),
    (CodeFormat(CodeShape.TT04, "H12.123.45", "01"), 123456, "H12.123.45-251122-01123456"),
])
def test_each_shape_formats_and_parses_back(fmt, n, code):
    assert fmt.format(DAY, n) == code
    assert parse_code(code, fmt.shape) == ParsedCode(fmt.shape, fmt.unit, DAY, n, fmt.series)
    assert parse_code(code) == ParsedCode(fmt.shape, fmt.unit, DAY, n, fmt.series)  # shape guessed


def test_a_shape_given_as_text_is_the_shape():
    assert CodeFormat("tt04", "H12.123.45", "01").format(DAY, 7) == "H12.123.45-251122-010007"


def test_sequence_past_9999_never_wraps_and_sorts_apart():
    fmt = CodeFormat(CodeShape.TT03, "000.00.12.H12")
    codes = {fmt.format(DAY, n) for n in (1, 9999, 10000, 10001, 100000)}
    assert len(codes) == 5
    assert parse_code("000.00.12.H12-251122-100000").n == 100000


@pytest.mark.parametrize("bad", [
    "000.00.12.H12-251122-007",  # fewer than four digits
    "000.00.12.H12-251122-00010",  # a fifth digit behind a leading zero: two spellings of 10
    "000.00.12.H12-251322-0007",  # no month 13
    "000.00.12.H12-251122-0000",
    "H12.123.45-251122-ab0007",  # series in capitals only
    "251122-0007",
])
def test_malformed_codes_are_refused(bad):
    with pytest.raises(InvalidDossierCode):
        parse_code(bad)


@pytest.mark.parametrize(("shape", "unit", "series", "says"), [
    ("tt03", "H12.34", None, "tt03 shape"),
    ("tt04", "H12.123.45", None, "dossier_code_series"),
    ("tt04", "000.00.12.H12", "01", "tt04 shape"),
    ("site", "H12.34", "01", "only by the tt04"),
    ("tt05", "H12.34", None, "dossier_code must be one of"),
])
def test_a_wrong_site_choice_says_what_is_wrong(shape, unit, series, says):
    with pytest.raises(InvalidDossierCode, match=says):
        CodeFormat(shape, unit, series)


# -- the same-day cut-off, per procedure ----------------------------------------------------------

CAL = WorkingCalendar()


def at(h, m):  # Monday 24/11/2025, local
    return datetime(2025, 11, 24, h, m, tzinfo=CAL.tz)


@pytest.mark.parametrize(("cutoff", "legal_days", "received", "due"), [
    (time(15, 0), 0, at(15, 0), date(2025, 11, 24)),  # at the cut-off: same day
    (time(15, 0), 0, at(15, 1), date(2025, 11, 25)),  # after it: next working day
    (None, 0, at(16, 30), date(2025, 11, 24)),  # a procedure without a cut-off: same day
    (time(11, 0), 0, at(11, 1), date(2025, 11, 25)),  # another sector's hour
    (time(15, 0), 3, at(15, 1), date(2025, 11, 28)),  # counts from Tue: Wed, Thu, Fri
    (None, 3, at(15, 1), date(2025, 11, 27)),  # day of receipt not counted: Tue, Wed, Thu
])
def test_cutoff_is_the_procedures(cutoff, legal_days, received, due):
    assert CAL.due_date(received, legal_days, cutoff) == due
    d = open_dossier("X-251124-0001", "2.000815", legal_days, Channel.DIRECT, by="Lan", at=received,
                     calendar=CAL, cutoff=cutoff)
    assert d.due_date == due


def test_cutoff_on_friday_counts_from_monday():
    friday = datetime(2025, 11, 21, 15, 30, tzinfo=CAL.tz)
    assert CAL.due_date(friday, 0, time(15, 0)) == date(2025, 11, 24)
