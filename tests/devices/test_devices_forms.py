"""Forms 02, 03, 05, 06 and 07 (Thông tư 03/2025/TT-VPCP): each carries its number and title,
the dossier's data and (02–06) a QR zbar reads back; each prints through python-escpos' real
byte stream exactly as it renders."""

from __future__ import annotations

from datetime import date

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from devices.forms import (
    BOOK_COLUMNS,
    FORM_TITLES,
    BookView,
    FormView,
    book_blocks,
    form_blocks,
    heading,
    render_book,
    render_book_a4,
    render_form,
)
from devices.layout import missing_glyphs
from devices.printer import open_printer

URL = "https://motcua.example.vn/t/Zk3v9QbW1xYt0aLmN2pRsA"
CENTRE = "Trung tâm Phục vụ hành chính công xã Mường Phăng"


def view(number: str) -> FormView:
    base = (("Mã hồ sơ:", "000.00.12.H12-251124-10001", True), ("Thủ tục:", "Chứng thực bản sao từ bản chính", False),
            ("Người nộp hồ sơ:", "Lò Thị Mai", False))
    extra = {
        "02": dict(fields=(*base, ("Lần yêu cầu:", "2", True), ("Nội dung cần bổ sung, hoàn thiện:", "Ảnh 4x6", True),
                           ("Lý do yêu cầu bổ sung lần thứ hai:", "Ảnh sai kích thước", False))),
        "03": dict(fields=(*base, ("Lý do từ chối:", "Không thuộc thẩm quyền của xã", True))),
        "05": dict(fields=(*base, ("Hình thức:", "Công dân rút hồ sơ", True))),
        "06": dict(fields=base, columns=("Thời gian", "Người thực hiện", "Nội dung", "So với hạn"),
                   rows=(("08:00 ngày 24/11/2025", "Nguyễn Văn An", "Được tiếp nhận", "Trước hạn"),
                         ("09:30 ngày 26/11/2025", "Lê Thị Bình", "Đã xử lý xong", "Quá hạn"))),
    }[number]
    return FormView(number=number, centre=CENTRE, dossier_code="000.00.12.H12-251124-10001", official="Nguyễn Văn An",
                    track_url=URL, **extra)


BOOK = BookView(centre=CENTRE, date_from=date(2025, 11, 1), date_to=date(2025, 11, 30), rows=tuple(
    (str(n), f"000.00.12.H12-2511{(n - 1) % 30 + 1:02d}-{n:04d}", "Chứng thực chữ ký", "Lò Thị Mai",
     f"{(n - 1) % 30 + 1:02d}/11/2025", f"{(n - 1) % 30 + 1:02d}/11/2025", "", "", "Được tiếp nhận", "Trong hạn")
    for n in range(1, 41)))


@pytest.mark.parametrize("number", ["02", "03", "05", "06"])
@pytest.mark.parametrize("paper", [80, 58])
def test_each_form_has_its_number_title_data_and_a_readable_qr(number, paper, tmp_path):
    v = view(number)
    image = render_form(v, paper)
    image.save(tmp_path / f"mau{number}_{paper}.png")
    assert image.width == {80: 576, 58: 384}[paper]
    assert [s.data.decode() for s in decode(image) if s.type == "QRCODE"] == [URL]
    text = v.text()
    assert text[1] == f"Mẫu số {number}" and text[2] == FORM_TITLES[number].upper()
    assert "Thông tư số 03/2025/TT-VPCP" in text[3]
    assert "000.00.12.H12-251124-10001" in text and "Lò Thị Mai" in text
    assert missing_glyphs(" ".join(text)) == set()  # every Vietnamese letter has its glyph


def test_form_06_lists_every_hand_off_with_its_judgement():
    text = view("06").text()
    assert "So với hạn: Trước hạn" in text and "So với hạn: Quá hạn" in text
    assert "Người thực hiện: Lê Thị Bình" in text
    assert render_form(view("06")).height > render_form(view("05")).height  # the rows are drawn


def test_an_unknown_form_number_is_refused():
    with pytest.raises(ValueError, match="form must be one of 01, 02"):
        heading("08")


@pytest.mark.parametrize("number", ["02", "03", "05", "06"])
def test_printing_a_form_sends_python_escpos_bytes_of_its_blocks(number):
    printer = open_printer("sim://?paper=80&qr=image")
    with printer:
        sent = printer.print_form(view(number))
    out = printer.backend.output
    expected = printer.encode(form_blocks(view(number), 80))
    assert out.endswith(expected) and sent == len(expected)
    assert expected.startswith(b"\x1b@") and b"\x1dv0" in expected  # init, raster images
    assert b"\x1dV" in expected[-8:]  # and the paper is cut


def test_the_book_on_a4_repeats_its_header_and_holds_every_row(tmp_path):
    pages = render_book_a4(BOOK)
    for n, page in enumerate(pages, 1):
        page.save(tmp_path / f"mau07_a4_p{n}.png")
        assert page.size == (2339, 1654)
    assert len(pages) >= 2  # 40 rows do not fit one A4 page
    text = BOOK.text()
    assert text[1:3] == ["Mẫu số 07", "SỔ THEO DÕI HỒ SƠ"] and text[5:15] == list(BOOK_COLUMNS)
    assert "Từ ngày 01/11/2025 đến ngày 30/11/2025" in text
    # every page has ink in the header band and the last page's table ends above the margin
    assert all(page.crop((0, 0, 2339, 200)).getextrema()[0] == 0 for page in pages)


def test_the_book_prints_on_receipt_paper_too(tmp_path):
    image = render_book(BOOK, 80)
    image.save(tmp_path / "mau07_80.png")
    printer = open_printer("sim://?paper=80")
    with printer:
        printer.print_form(BOOK)
    assert printer.backend.output.endswith(printer.encode(book_blocks(BOOK, 80)))
    assert isinstance(image, Image.Image) and image.width == 576


# The seven titles as Phụ lục I of Thông tư 03/2025/TT-VPCP lists them (each preceded by "Mẫu").
TT03_2025_TITLES = {
    "01": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "02": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    "03": "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
    "04": "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết",
    "05": "Thông báo dừng giải quyết hồ sơ",
    "06": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
    "07": "Sổ theo dõi hồ sơ",
}


def test_all_seven_titles_are_the_circulars():
    assert FORM_TITLES == TT03_2025_TITLES


def test_forms_01_and_04_open_with_their_number_title_and_circular_like_the_others():
    """Mẫu 01 and 04 have their own layouts; they start as every form does, and 04 asks to extend
    the time (the new appointment date and the reason are on it)."""
    from devices.layout import apology_text, render_apology, render_slip, slip_text
    from tests.devices.cases import apology_view, slip_view

    slip, apology = slip_view(), apology_view()
    assert slip_text(slip)[:4] == [slip.centre, "Mẫu số 01", "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
                                   "(Thông tư số 03/2025/TT-VPCP)"]
    text = apology_text(apology)
    assert text[:4] == [apology.centre, "Mẫu số 04", "VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
                        "(Thông tư số 03/2025/TT-VPCP)"]
    pairs = dict(zip(text[4:18:2], text[5:18:2]))
    assert pairs == {"Kính gửi:": "Hồ Chí Dung", "Mã hồ sơ:": "H12.25-250305-0001", "Thủ tục:": "Đăng ký khai sinh",
                     "Ngày tiếp nhận hồ sơ:": "08:40 ngày 05/03/2025", "Hạn trả kết quả theo quy định:": "10/03/2025",
                     "Lý do chậm trễ:": "Cần xác minh thông tin nơi cư trú với xã khác",
                     "Đề nghị gia hạn, hẹn trả kết quả vào ngày:": "14/03/2025"}
    assert "đề nghị gia hạn thời gian giải quyết, hẹn trả kết quả vào ngày 14/03/2025" in text[18]
    for image, lines in ((render_slip(slip), slip_text(slip)), (render_apology(apology), apology_text(apology))):
        assert not missing_glyphs("".join(lines)) and image.height > 600
