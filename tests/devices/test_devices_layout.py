"""Layouts: sizes, QR codes that decode to exactly the URL, and every Vietnamese glyph present."""

from __future__ import annotations

import dataclasses
import unicodedata

import pytest
from PIL import Image, ImageChops
from pyzbar.pyzbar import decode

from devices.layout import (
    FONT_BOLD,
    FONT_REGULAR,
    QrBlock,
    missing_glyphs,
    render_apology,
    render_slip,
    render_ticket,
    ticket_blocks,
)

VIETNAMESE = "Đăng ký khai sinh Chứng thực bản sao từ bản chính Quầy số 3"
# Every lower- and upper-case Vietnamese letter with its tone marks.
ALPHABET = ("aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụ"
            "ưừứửữựvxyỳýỷỹỵ")


def qr_payloads(image: Image.Image) -> list[str]:
    return [symbol.data.decode("utf-8") for symbol in decode(image) if symbol.type == "QRCODE"]


def test_fonts_are_bundled():
    assert FONT_REGULAR.is_file() and FONT_BOLD.is_file()
    assert "devices" in FONT_REGULAR.parts  # not a system path


@pytest.mark.parametrize("paper, width", [(80, 576), (58, 384)])
def test_ticket_width_and_qr(ticket, paper, width, tmp_path, track_url):
    image = render_ticket(ticket, paper)
    image.save(tmp_path / f"ticket_{paper}.png")
    assert image.width == width
    assert qr_payloads(image) == [track_url]


@pytest.mark.parametrize("paper", [80, 58])
def test_slip_and_apology_qr(slip, apology, paper, dossier_url):
    assert qr_payloads(render_slip(slip, paper)) == [dossier_url]
    assert qr_payloads(render_apology(apology, paper)) == [dossier_url]


def test_apology_without_url_has_no_qr(apology):
    image = render_apology(dataclasses.replace(apology, track_url=None))
    assert qr_payloads(image) == []


def test_ticket_has_exactly_one_qr_block_with_the_url(ticket, track_url):
    qrs = [b for b in ticket_blocks(ticket) if isinstance(b, QrBlock)]
    assert [q.data for q in qrs] == [track_url]


@pytest.mark.parametrize("bold", [False, True])
def test_font_has_every_vietnamese_glyph(bold):
    text = ALPHABET + ALPHABET.upper() + VIETNAMESE
    assert missing_glyphs(text, bold) == set()


def test_missing_glyph_check_can_fail():
    # CJK and Tibetan are not in DejaVu Sans: the check must notice, or it proves nothing.
    assert missing_glyphs("A一ༀ") == {"一", "ༀ"}


def test_decomposed_input_is_rendered_like_precomposed(ticket):
    nfd = dataclasses.replace(ticket, service_vi=unicodedata.normalize("NFD", ticket.service_vi))
    assert render_ticket(nfd).tobytes() == render_ticket(ticket).tobytes()


@pytest.mark.parametrize("text", ["Đăng ký khai sinh", "Chứng thực bản sao từ bản chính", "Quầy số 3"])
def test_diacritics_are_drawn_not_stripped(ticket, text):
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    stripped = stripped.replace("Đ", "D").replace("đ", "d")
    assert stripped != text
    with_marks = render_ticket(dataclasses.replace(ticket, service_vi=text))
    without = render_ticket(dataclasses.replace(ticket, service_vi=stripped))
    assert ImageChops.difference(with_marks, without).getbbox() is not None


def test_long_procedure_wraps_within_paper(slip, dossier_url):
    long = dataclasses.replace(slip, procedure="Đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm "
                                               "y tế cho trẻ em dưới 6 tuổi " * 3)
    short = render_slip(slip, 58)
    tall = render_slip(long, 58)
    assert tall.width == 384 and tall.height > short.height
    assert qr_payloads(tall) == [dossier_url]


def test_monolingual_ticket_has_no_english(ticket, track_url):
    vi_only = render_ticket(dataclasses.replace(ticket, service_en=None))
    assert vi_only.height < render_ticket(ticket).height
    assert qr_payloads(vi_only) == [track_url]


def test_unknown_paper_is_rejected(ticket):
    with pytest.raises(ValueError, match="paper"):
        render_ticket(ticket, 76)
