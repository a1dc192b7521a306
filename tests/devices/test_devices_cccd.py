"""CCCD payload parsing, scan classification and the privacy helpers."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import date

import pytest

from devices.cccd import (
    ID_HASH_SHAPE,
    REASONS,
    CardScanned,
    CccdRejected,
    ScanRejected,
    TextScanned,
    classify_scan,
    id_hash,
    id_hash_tag,
    id_key_id,
    mask_name,
    parse_cccd,
)

# Expected outcome of every non-comment line of data/cccd_samples.txt, in order.
EXPECTED = [
    ("ok", "011095001234", "Lò Thị Mai", date(1995, 3, 15), "Nữ", date(2021, 4, 20)),
    ("ok", "011080004321", "Hồ Chừ Dung", date(1980, 1, 1), "Nam", date(2022, 5, 10)),
    ("ok", "001090123456", "NGUYỄN VĂN AN", date(1990, 1, 1), "Nam", date(2021, 4, 15)),
    ("ok", "011201009999", "Quàng Văn Sơn", date(2001, 11, 30), "Nam", None),
    ("ok", "011075007777", "Vàng A Páo", date(1975, 6, 5), "Nam", date(2023, 2, 1)),
    ("rejected", "bad_id"),
    ("rejected", "bad_birth_date"),
    ("rejected", "bad_sex"),
    ("rejected", "not_cccd"),
    ("rejected", "empty"),
]


def sample_lines(cccd_samples):
    return [line for line in cccd_samples if not line.startswith("#")]


def test_every_sample_line_parses_or_is_rejected_with_the_right_reason(cccd_samples):
    lines = sample_lines(cccd_samples)
    assert len(lines) == len(EXPECTED)
    for line, expected in zip(lines, EXPECTED):
        if expected[0] == "ok":
            card = parse_cccd(line)
            assert (card.id_number, card.name, card.birth_date, card.sex, card.issue_date) == expected[1:]
        else:
            with pytest.raises(CccdRejected) as info:
                parse_cccd(line)
            assert info.value.reason == expected[1]
            assert info.value.key == f"cccd.{expected[1]}"


def test_old_id_may_be_empty(cccd_samples):
    first, second = sample_lines(cccd_samples)[:2]
    assert parse_cccd(first).old_id == "123456789"
    assert parse_cccd(second).old_id is None


def test_samples_as_scans(cccd_samples):
    events = [classify_scan(line) for line in sample_lines(cccd_samples)]
    kinds = [type(e).__name__ if e else None for e in events]
    assert kinds == ["CardScanned"] * 5 + ["ScanRejected"] * 3 + ["TextScanned", None]
    assert events[8] == TextScanned("https://example.invalid/not-a-card")
    assert [e.reason for e in events[5:8]] == ["bad_id", "bad_birth_date", "bad_sex"]


BASE = ["011095001234", "123456789", "Lò Thị Mai", "15031995", "Nữ", "Xã Mường Đăng", "20042021"]


@pytest.mark.parametrize("fields, reason", [
    (BASE[:5], "field_count"),
    (BASE + ["", "extra"], "field_count"),
    (["01109500123a"] + BASE[1:], "bad_id"),
    (["0110950012345"] + BASE[1:], "bad_id"),
    (BASE[:1] + ["12345"] + BASE[2:], "bad_old_id"),
    (BASE[:2] + [""] + BASE[3:], "bad_name"),
    (BASE[:2] + ["Lò Thị 4"] + BASE[3:], "bad_name"),
    (BASE[:3] + ["1503199"] + BASE[4:], "bad_birth_date"),
    (BASE[:3] + ["29021995"] + BASE[4:], "bad_birth_date"),
    (BASE[:3] + ["15031895"] + BASE[4:], "bad_birth_date"),
    (BASE[:4] + ["Nu"] + BASE[5:], "bad_sex"),
    (BASE[:6] + ["32042021"], "bad_issue_date"),
    (BASE[:6] + ["20041990"], "bad_issue_date"),  # issued before birth
])
def test_rejections(fields, reason):
    assert reason in REASONS
    with pytest.raises(CccdRejected) as info:
        parse_cccd("|".join(fields))
    assert info.value.reason == reason


def test_leap_day_and_tolerant_forms():
    card = parse_cccd("|".join(BASE[:3] + ["29022000", "nữ"] + BASE[5:]) + "\r\n")
    assert card.birth_date == date(2000, 2, 29) and card.sex == "Nữ"
    nfd = unicodedata.normalize("NFD", "|".join(BASE))
    assert parse_cccd(nfd).name == "Lò Thị Mai"


def test_too_long_payload_is_rejected_without_work():
    with pytest.raises(CccdRejected) as info:
        parse_cccd("|".join(BASE) + "x" * 10_000)
    assert info.value.reason == "too_long"
    assert classify_scan("a" * 10_000) == ScanRejected("too_long")


def test_control_characters_in_text_scan_are_rejected():
    assert classify_scan("abc\x00def") == ScanRejected("bad_encoding")


def test_card_repr_hides_personal_data():
    card = parse_cccd("|".join(BASE))
    text = repr(card) + repr(CardScanned(card))
    for secret in ("011095001234", "Lò", "Mường", "1995"):
        assert secret not in text


def test_rejection_message_does_not_contain_the_payload():
    with pytest.raises(CccdRejected) as info:
        parse_cccd("|".join(BASE[:4] + ["X"] + BASE[5:]))
    assert "Lò" not in str(info.value) and "011095001234" not in str(info.value)


def test_keyed_id_hash():
    key = b"site-secret"
    digest = hmac.new(key, b"011095001234", hashlib.sha256).hexdigest()
    expected = f"v1.{id_key_id(key)}.{digest}.{id_hash_tag(digest, key)}"
    assert id_hash("011095001234", key) == expected
    assert ID_HASH_SHAPE.fullmatch(expected)
    assert id_hash("011095001234", b"other-key") != expected
    assert parse_cccd("|".join(BASE)).id_hash(key) == expected
    with pytest.raises(ValueError):
        id_hash("011095001234", b"")


@pytest.mark.parametrize("name, masked", [
    ("Lò Thị Mai", "L** T** M**"),
    ("NGUYỄN VĂN AN", "N** V** A**"),
    ("  Đinh   Ánh ", "Đ** Á**"),
    (unicodedata.normalize("NFD", "Ánh"), "Á**"),
])
def test_mask_name(name, masked):
    assert mask_name(name) == masked
