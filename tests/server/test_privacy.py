"""``server.privacy``: masking whatever an official typed, and the kiosk's citizen fields.

A table of adversarial notes, then a property test (hypothesis) that builds notes out of IDs,
phone numbers and names in many disguises and checks the output with an independent reader
(``tests.support.leaks``).
"""

import hashlib
import hmac
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import cccd
from server import privacy
from tests.support.leaks import digits_only, id_runs, name_leaks

NAME = "Nguyễn Văn An"
CCCD = "001099012345"


def strip_marks(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c))


ADVERSARIAL = [
    "thiếu bản sao CCCD 001099012345 của Nguyễn Văn An",
    "CCCD: 001 099 012 345",
    "CCCD 001.099.012.345",
    "số 001-099-012-345",
    "0 0 1 0 9 9 0 1 2 3 4 5",
    "CMND 123456789 cũ",
    "ĐT 0912345678",
    "ĐT +84 912 345 678",
    "điện thoại (024) 3825 1234",
    "số ٠٠١٠٩٩٠١٢٣٤٥ (chữ số Ả Rập)",
    "số ００１０９９０１２３４５ (toàn khổ)",
    "số ००१०९९०१२३४५ (Devanagari)",
    "số 𝟎𝟎𝟏𝟎𝟗𝟗𝟎𝟏𝟐𝟑𝟒𝟓",
    "số 001\u200b099\u200b012\u200b345 (ký tự ẩn)",
    "số 001\u00a0099\u00a0012\u00a0345",
    "số 001 – 099 – 012 – 345",
    "số 001/099/012/345",
    "NGUYỄN VĂN AN",
    "nguyen van an",
    "NguyenVanAn",
    "ông NguyễnVănAn nộp",
    "ôngNguyễnVănAn",
    "Nguyễn-Văn-An",
    "Nguyễn.Văn.An",
    "Nguye\u0302\u0303n Va\u0306n An (tổ hợp)",
    "ＮＧＵＹＥＮ ＶＡＮ ＡＮ",
    "anh An đến nộp",
    "anhAn",
    "AN",
    "bà Nguyễn",
    "NGUYEN",
    "xNguyễnx",
    "NGUYENVăn",
    "Hương\u0303van",
    "Văn bản của An: CCCD 001099012345, ĐT 0987654321",
]


@pytest.mark.parametrize("note", ADVERSARIAL)
def test_no_id_run_and_no_name_survives_masking(note):
    masked = privacy.mask_public_text(note, [NAME])
    assert id_runs(masked) == [], masked
    assert name_leaks(masked, NAME) == [], masked
    assert CCCD not in digits_only(masked)


def test_what_the_citizen_needs_stays_readable():
    masked = privacy.mask_public_text("Thiếu 2 bản sao giấy khai sinh, hẹn 12/05/2025 lúc 9:30. Anh ấy", [NAME])
    assert masked == "Thiếu 2 bản sao giấy khai sinh, hẹn 12/05/2025 lúc 9:30. Anh ấy"
    assert privacy.mask_public_text("thiếu bản sao CCCD 001099012345 của Nguyễn Văn An", [NAME]) == \
        "thiếu bản sao CCCD *** của N** V** A**"


# -- property: notes assembled from disguised IDs, phones and names ------------------------------

DIGIT_FAMILIES = ["0123456789", "٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "०१२३४५६७८९", "০১২৩৪৫৬৭৮৯", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"]
SEPARATORS = [" ", ".", "-", " - ", "\u00a0", "\u200b", "/", ", ", "–", ". ", "_", "\u00ad", "  "]
NAMES = ["Nguyễn Văn An", "Lò Thị Mai", "Đặng Ánh", "Hoàng Thị Thu Hương", "Vàng A Páo", "Trần Đức Lương", "Lò A"]
FILLER = ["thiếu", "bản sao", "giấy khai sinh", "của", "ông", "bà", "anh", "chị", "CCCD", "số", "ĐT", "liên hệ",
          "hẹn", "12/05/2025", "2 bản", "lúc 9:30", "văn bản", "xác nhận", ":", ",", "(", ")", "—", "\n"]


@st.composite
def number(draw):
    kind = draw(st.sampled_from(["cccd", "cmnd", "mobile", "intl"]))
    if kind == "cccd":
        digits = draw(st.text("0123456789", min_size=12, max_size=12))
    elif kind == "cmnd":
        digits = draw(st.text("0123456789", min_size=9, max_size=9))
    elif kind == "mobile":
        digits = "0" + draw(st.sampled_from("35789")) + draw(st.text("0123456789", min_size=8, max_size=8))
    else:
        digits = "84" + draw(st.sampled_from("35789")) + draw(st.text("0123456789", min_size=8, max_size=8))
    family = draw(st.sampled_from(DIGIT_FAMILIES))
    out = []
    for i, ch in enumerate(digits):
        if i and draw(st.integers(0, 3)) == 0:
            out.append(draw(st.sampled_from(SEPARATORS)))
        out.append(family[int(ch)])
    prefix = "+" if kind == "intl" else ""
    return digits, prefix + "".join(out)


@st.composite
def disguised(draw, name):
    words = name.split()
    how = draw(st.sampled_from(["as is", "upper", "lower", "bare", "bare upper", "nfd", "joined", "camel",
                                "dashed", "one word", "glued", "fullwidth"]))
    if how == "upper":
        return name.upper()
    if how == "lower":
        return name.lower()
    if how == "bare":
        return strip_marks(name)
    if how == "bare upper":
        return strip_marks(name).upper()
    if how == "nfd":
        return unicodedata.normalize("NFD", name)
    if how == "joined":
        return "".join(words)
    if how == "camel":
        return draw(st.sampled_from(["anh", "ông", "bà", "chị"])) + "".join(words)
    if how == "dashed":
        return draw(st.sampled_from(["-", ".", "_", " . "])).join(words)
    if how == "one word":
        return draw(st.sampled_from(words))
    if how == "glued":
        return draw(st.sampled_from(["ông", "bà"])) + draw(st.sampled_from(words))
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in strip_marks(name))


@st.composite
def note_and_secrets(draw):
    name = draw(st.sampled_from(NAMES))
    pieces, ids = [], []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["filler", "filler", "number", "name", "noise"]))
        if kind == "filler":
            pieces.append(draw(st.sampled_from(FILLER)))
        elif kind == "number":
            digits, text = draw(number())
            ids.append(digits)
            pieces.append(text)
        elif kind == "name":
            pieces.append(draw(disguised(name)))
        else:
            pieces.append(draw(st.text(max_size=6)))
    glue = draw(st.sampled_from([" ", " ", ", ", "\n"]))
    return glue.join(pieces), name, ids


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(note_and_secrets())
def test_property_no_run_no_name_whatever_was_typed(case):
    note, name, ids = case
    masked = privacy.mask_public_text(note, [name])
    assert id_runs(masked) == [], (note, masked)
    assert name_leaks(masked, name) == [], (note, masked)
    plain = digits_only(masked)
    for digits in ids:
        assert digits[-9:] not in plain, (note, masked)


@settings(max_examples=800, deadline=None)
@given(st.text(max_size=60), st.sampled_from(NAMES))
def test_property_any_text_at_all(text, name):
    masked = privacy.mask_public_text(text, [name])
    assert id_runs(masked) == [] and name_leaks(masked, name) == [], (text, masked)


PIECES = list("0123456789 .-,/()+_\u200b\u00a0\u00ad–٠١２３𝟗") + [
    "Nguyễn", "Văn", "An", "NGUYEN", "van", "an", "Hương", "Thu", "ông", "x", "ñ", "\u0303", "\u0301", "Ａｎ", "ß"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join), st.sampled_from(NAMES))
def test_property_names_and_digits_glued_every_way(text, name):
    """Dense mixtures found the two-pass case: "NGUYENVăn" must not end as "N**Văn"."""
    masked = privacy.mask_public_text(text, [name])
    assert id_runs(masked) == [] and name_leaks(masked, name) == [], (text, masked)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES + ["A", "B", "Páo", "Vàng"]), max_size=30).map("".join),
       st.sampled_from(NAMES + ["A B", "A Páo"]))
def test_masking_ends_and_masking_again_changes_nothing(text, name):
    """One-letter name words ("Vàng A Páo") once made the mask "A**" match itself, forever."""
    masked = privacy.mask_public_text(text, [name])
    assert privacy.mask_public_text(masked, [name]) == masked


def test_public_note_or_standard_sentence():
    assert privacy.public_note("supplement_requested", None, [NAME])[:2] == (
        "Hồ sơ cần bổ sung giấy tờ. Vui lòng liên hệ Bộ phận Một cửa để biết chi tiết.",
        "Documents are missing. Please ask the one-stop desk for details.")
    assert privacy.public_note("processing", "  ", [NAME])[2] is False
    assert privacy.public_note("refused", "Nguyễn Văn An thiếu CCCD 001099012345", [NAME]) == (
        "N** V** A** thiếu CCCD ***", "N** V** A** thiếu CCCD ***", True)
    assert set(privacy.PUBLIC_SENTENCES) == {"submitted", "received", "processing", "supplement_requested",
                                             "fee_due", "paused", "resolved", "returned", "withdrawn", "refused"}


# -- the kiosk's citizen fields ------------------------------------------------------------------

@pytest.mark.parametrize("value", ["L** T** M**", "Đ** Á**", "A**", "O\u0300** T**"])
def test_masked_names_in_the_kiosk_shape_pass(value):
    assert privacy.check_masked_name(value) == unicodedata.normalize("NFC", value)
    assert privacy.check_masked_name(cccd.mask_name("Hoàng Thị Thu Hương")) == "H** T** T** H**"


@pytest.mark.parametrize("value", ["Nguyễn Văn An", "N. V. An", "N** Văn A**", "N**  V**", "1** 2**", "***",
                                   "N*** V**", "", " N**", "N** ", "N**\nV**"])
def test_unmasked_or_odd_names_are_refused(value):
    with pytest.raises(ValueError, match="masked"):
        privacy.check_masked_name(value)


def test_id_hash_made_by_the_kiosk_passes_and_only_the_digest_is_kept():
    key = b"site-id-key"
    sent = cccd.id_hash(CCCD, key)
    digest = hmac.new(key, CCCD.encode(), hashlib.sha256).hexdigest()
    assert privacy.IdHashVerifier(key).verify(sent) == digest
    assert CCCD not in sent


@pytest.mark.parametrize("value,says", [
    (CCCD, "raw ID"),
    (hashlib.sha256(CCCD.encode()).hexdigest(), "plain SHA-256"),
    ("V1." + "0" * 8 + "." + "a" * 64 + "." + "b" * 16, "keyed hash"),
])
def test_raw_or_unkeyed_id_hashes_are_refused(value, says):
    with pytest.raises(privacy.IdHashRefused, match=says):
        privacy.IdHashVerifier(b"site-id-key").verify(value)


def test_id_hash_with_another_key_or_a_forged_tag_is_refused():
    verifier = privacy.IdHashVerifier(b"site-id-key")
    with pytest.raises(privacy.IdHashRefused, match="another key"):
        verifier.verify(cccd.id_hash(CCCD, b"other-kiosk-key"))
    plain = hashlib.sha256(CCCD.encode()).hexdigest()  # an unkeyed hash dressed in the right shape
    with pytest.raises(privacy.IdHashRefused, match="tag"):
        verifier.verify(f"v1.{verifier.key_id}.{plain}.{'0' * 16}")
