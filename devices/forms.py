"""The 2025 forms (Thông tư 03/2025/TT-VPCP) other than the slip: 02, 03, 05, 06 on receipt paper
and 07, the tracking book, on A4 (and as a receipt-paper list).

Mẫu 01 and 04 keep their own layouts in :mod:`devices.layout`; these share its builder, fonts,
QR and heading (centre, "Mẫu số NN", title, circular), so every form prints through the same ``ReceiptPrinter.print_blocks`` and looks alike.
A form is data (:class:`FormView`): its number and title, the dossier's facts as labelled fields,
free paragraphs, and an optional table (hand-offs on 06). :meth:`FormView.text` is exactly the
text drawn, so a test can check the number and title without reading pixels back.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from PIL import Image, ImageDraw

# FORM_TITLES, CIRCULAR and heading live with the 01 and 04 layouts; imported from here as well.
from .layout import (BLACK, CIRCULAR, FORM_TITLES, WHITE, Block, _Builder, _field, _form_head, flatten, font,
                     heading, paper_width)


@dataclass(frozen=True, kw_only=True)
class FormView:
    """One dossier form. ``fields`` are (label, value, bold); ``rows`` a table under ``columns``."""

    number: str
    centre: str
    dossier_code: str
    fields: tuple[tuple[str, str, bool], ...] = ()
    paragraphs: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    official: str = ""
    track_url: str | None = None

    @property
    def title(self) -> str:
        return FORM_TITLES[self.number]

    def text(self) -> list[str]:
        """Every string drawn, in order (the "source text" of the image)."""
        out = [self.centre, heading(self.number), self.title.upper(), f"({CIRCULAR})"]
        for label, value, _ in self.fields:
            out += [label, value]
        out += list(self.paragraphs)
        for row in self.rows:
            out += [f"{c}: {v}" for c, v in zip(self.columns, row)]
        if self.official:
            out += ["Người lập phiếu:", self.official]
        return [unicodedata.normalize("NFC", s) for s in out]


def form_blocks(view: FormView, paper: int = 80) -> list[Block]:
    b = _Builder(paper)
    _form_head(b, view.centre, view.number)
    for label, value, bold in view.fields:
        _field(b, label, value, bold=bold)
    for paragraph in view.paragraphs:
        b.text(paragraph, 22, align="left")
        b.gap(4)
    for n, row in enumerate(view.rows, 1):
        b.rule()
        b.text(f"Bước {n}", 20, bold=True, align="left")
        for column, value in zip(view.columns, row):
            b.text(f"{column}: {value}", 20, align="left")
    if view.rows:
        b.rule()
    if view.official:
        _field(b, "Người lập phiếu:", view.official)
    if view.track_url:
        b.qr(view.track_url)
        b.text("Quét mã để tra cứu tình trạng hồ sơ", 20)
    b.gap(10)
    return b.finish()


def render_form(view: FormView, paper: int = 80) -> Image.Image:
    return flatten(form_blocks(view, paper), paper_width(paper))


# -- Mẫu 07: the tracking book ------------------------------------------------------------------

BOOK_COLUMNS = ("STT", "Mã hồ sơ", "Thủ tục", "Người nộp", "Ngày tiếp nhận", "Hẹn trả",
                "Ngày có kết quả", "Ngày trả", "Tình trạng", "Đúng hạn")
BOOK_WIDTHS = (0.04, 0.19, 0.16, 0.11, 0.09, 0.08, 0.09, 0.08, 0.09, 0.07)  # of the line


@dataclass(frozen=True, kw_only=True)
class BookView:
    """Mẫu 07 for a period: one row per dossier received in it, in ``BOOK_COLUMNS`` order."""

    centre: str
    date_from: date
    date_to: date
    rows: tuple[tuple[str, ...], ...]
    printed_at: datetime | None = None

    @property
    def number(self) -> str:
        return "07"

    @property
    def title(self) -> str:
        return FORM_TITLES["07"]

    def period(self) -> str:
        return f"Từ ngày {self.date_from:%d/%m/%Y} đến ngày {self.date_to:%d/%m/%Y}"

    def text(self) -> list[str]:
        out = [self.centre, heading("07"), self.title.upper(), f"({CIRCULAR})", self.period(), *BOOK_COLUMNS]
        for row in self.rows:
            out += list(row)
        return [unicodedata.normalize("NFC", s) for s in out]


A4_DOTS = (2339, 1654)  # landscape A4 at 200 dpi: width, height
A4_MARGIN = 70


def _cell_lines(text: str, face, width: int) -> list[str]:
    from .layout import _wrap

    return _wrap(unicodedata.normalize("NFC", text), face, width) or [""]


def render_book_a4(view: BookView) -> list[Image.Image]:
    """The book as A4 landscape pages (200 dpi, greyscale), the header repeated on every page."""
    width, height = A4_DOTS
    inner = width - 2 * A4_MARGIN
    title_face, head_face, body_face = font(40, True), font(22, True), font(22)
    widths = [round(w * inner) for w in BOOK_WIDTHS]
    line_h = sum(body_face.getmetrics()) + 4

    def new_page() -> tuple[Image.Image, ImageDraw.ImageDraw, int]:
        page = Image.new("L", (width, height), WHITE)
        draw = ImageDraw.Draw(page)
        y = A4_MARGIN
        draw.text((A4_MARGIN, y), unicodedata.normalize("NFC", view.centre), font=font(26, True), fill=BLACK)
        draw.text((width - A4_MARGIN - font(24, True).getlength(heading("07")), y), heading("07"),
                  font=font(24, True), fill=BLACK)
        y += 50
        title = view.title.upper()
        draw.text(((width - title_face.getlength(title)) / 2, y), title, font=title_face, fill=BLACK)
        y += 56
        for line in (f"({CIRCULAR})", view.period()):
            draw.text(((width - font(24).getlength(line)) / 2, y), line, font=font(24), fill=BLACK)
            y += 36
        y += 10
        y = _row(draw, y, BOOK_COLUMNS, head_face)
        return page, draw, y

    def _row(draw, y, cells, face) -> int:
        wrapped = [_cell_lines(c, face, w - 12) for c, w in zip(cells, widths)]
        rows_h = max(len(lines) for lines in wrapped) * line_h + 8
        x = A4_MARGIN
        for lines, w in zip(wrapped, widths):
            draw.rectangle((x, y, x + w, y + rows_h), outline=BLACK, width=2)
            for i, line in enumerate(lines):
                draw.text((x + 6, y + 4 + i * line_h), line, font=face, fill=BLACK)
            x += w
        return y + rows_h

    pages = []
    page, draw, y = new_page()
    for row in view.rows:
        needed = max(len(_cell_lines(c, body_face, w - 12)) for c, w in zip(row, widths)) * line_h + 8
        if y + needed > height - A4_MARGIN:
            pages.append(page)
            page, draw, y = new_page()
        y = _row(draw, y, row, body_face)
    if not view.rows:
        draw.text((A4_MARGIN, y + 10), "Không có hồ sơ trong kỳ.", font=body_face, fill=BLACK)
    pages.append(page)
    return pages


def book_blocks(view: BookView, paper: int = 80) -> list[Block]:
    """The book on receipt paper: one short entry per dossier (for a centre with only a thermal printer)."""
    b = _Builder(paper)
    b.gap(6)
    b.text(view.centre, 22, bold=True)
    b.text(heading("07"), 20, bold=True)
    b.text(view.title.upper(), 26, bold=True)
    b.text(f"({CIRCULAR})", 16)
    b.text(view.period(), 20)
    for row in view.rows:
        b.rule()
        for column, value in zip(BOOK_COLUMNS, row):
            if value:
                b.text(f"{column}: {value}", 20, align="left")
    if not view.rows:
        b.text("Không có hồ sơ trong kỳ.", 20)
    b.gap(10)
    return b.finish()


def render_book(view: BookView, paper: int = 80) -> Image.Image:
    return flatten(book_blocks(view, paper), paper_width(paper))
