"""The one renderer for tickets and slips, used by the kiosk screen and every printer.

Most thermal printers have no Vietnamese code page (CP1258) and combine diacritics badly, so all
text is drawn into an image with the bundled DejaVu fonts, full diacritics, never stripped.
A layout is a list of *blocks*: images and :class:`QrBlock` s.  ``render_*`` flattens them into one
PIL image (QR drawn with segno) for the screen and for printers without native QR; the printer
asks for the blocks so it can send the QR natively when its profile supports it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path(__file__).with_name("fonts")
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"

# The forms of Thông tư 03/2025/TT-VPCP, Phụ lục I, by number (the titles as the circular words them).
FORM_TITLES = {
    "01": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "02": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    "03": "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
    "04": "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết",
    "05": "Thông báo dừng giải quyết hồ sơ",
    "06": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
    "07": "Sổ theo dõi hồ sơ",
}
CIRCULAR = "Thông tư số 03/2025/TT-VPCP"


def heading(number: str) -> str:
    """``Mẫu số 02`` — the line every form starts with."""
    if number not in FORM_TITLES:
        raise ValueError(f"form must be one of {', '.join(FORM_TITLES)}, not {number!r}")
    return f"Mẫu số {number}"


PAPER_DOTS = {80: 576, 58: 384}  # printable width in dots at 203 dpi
MARGIN = 8
WHITE, BLACK = 255, 0


@dataclass(frozen=True, kw_only=True)
class TicketView:
    """What a queue ticket shows. ``issued_at`` is local time (Asia/Ho_Chi_Minh) as the caller wants it."""

    centre: str
    number: str
    service_vi: str
    issued_at: datetime
    ahead: int
    est_wait_s: int | None
    track_url: str
    service_en: str | None = None  # set it and the ticket is bilingual
    footer: str = ""


@dataclass(frozen=True, kw_only=True)
class SlipView:
    """Mẫu 01 — Giấy tiếp nhận hồ sơ và hẹn trả kết quả. ``footer``: an extra last line (e.g. the counter)."""

    centre: str
    dossier_code: str
    procedure: str
    applicant: str
    received_at: datetime
    appointment_at: datetime
    official: str
    track_url: str
    documents: tuple[str, ...] = ()
    footer: str = ""


@dataclass(frozen=True, kw_only=True)
class ApologyView:
    """Mẫu 04 — Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết: to the applicant, the
    dossier, when it was received, the date the rules set, why it is late, and the date the
    agency asks to extend the time to (the new appointment)."""

    centre: str
    dossier_code: str
    procedure: str
    applicant: str
    original_date: date
    new_date: date
    reason: str
    official: str = ""
    track_url: str | None = None
    footer: str = ""
    received_at: datetime | None = None


@dataclass(frozen=True)
class QrBlock:
    data: str
    module: int  # dots per QR module


Block = Image.Image | QrBlock


@lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_BOLD if bold else FONT_REGULAR), size)


def paper_width(paper: int) -> int:
    try:
        return PAPER_DOTS[paper]
    except KeyError:
        raise ValueError(f"paper must be one of {sorted(PAPER_DOTS)} (mm), not {paper!r}") from None


def _wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap by rendered width; words longer than a line are split by character."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if face.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for ch in word:
                if face.getlength(line + ch) > width and line:
                    lines.append(line)
                    line = ""
                line += ch
        lines.append(line)
    return lines


class _Builder:
    """Stacks text lines, rules and QR codes into blocks of a fixed width."""

    def __init__(self, paper: int) -> None:
        self.width = paper_width(paper)
        self.scale = self.width / PAPER_DOTS[80]
        self.blocks: list[Block] = []
        self._rows: list[tuple[str, object]] = []

    def px(self, size: float) -> int:
        return max(8, round(size * self.scale))

    def text(self, text: str, size: float, *, bold: bool = False, align: str = "center") -> None:
        text = unicodedata.normalize("NFC", text)
        face = font(self.px(size), bold)
        for line in _wrap(text, face, self.width - 2 * MARGIN):
            self._rows.append(("text", (line, face, align)))

    def gap(self, size: float) -> None:
        self._rows.append(("gap", self.px(size)))

    def rule(self) -> None:
        self._rows.append(("rule", None))

    def qr(self, data: str) -> None:
        self._flush()
        qr = segno.make(data, error="m", micro=False)
        size = qr.symbol_size(scale=1, border=4)[0]
        module = max(2, min(8, int(self.width * 0.5) // size))
        self.blocks.append(QrBlock(data, module))

    def _flush(self) -> None:
        if not self._rows:
            return
        heights = []
        for kind, value in self._rows:
            if kind == "text":
                _, face, _ = value
                ascent, descent = face.getmetrics()
                heights.append(ascent + descent)
            elif kind == "gap":
                heights.append(value)
            else:
                heights.append(max(2, self.px(14)))
        image = Image.new("L", (self.width, sum(heights)), WHITE)
        draw = ImageDraw.Draw(image)
        y = 0
        for (kind, value), height in zip(self._rows, heights):
            if kind == "text":
                line, face, align = value
                x = MARGIN
                if align == "center":
                    x = (self.width - face.getlength(line)) / 2
                draw.text((round(x), y), line, font=face, fill=BLACK)
            elif kind == "rule":
                mid = y + height // 2
                draw.line((MARGIN, mid, self.width - MARGIN, mid), fill=BLACK, width=2)
            y += height
        self.blocks.append(image)
        self._rows = []

    def finish(self) -> list[Block]:
        self._flush()
        return self.blocks


def qr_image(data: str, module: int) -> Image.Image:
    """A QR code as an "L" image with a 4-module quiet zone (segno, no plugin needed)."""
    qr = segno.make(data, error="m", micro=False)
    border = 4
    n = len(qr.matrix)
    small = Image.new("L", (n + 2 * border, n + 2 * border), WHITE)
    pixels = small.load()
    for y, row in enumerate(qr.matrix):
        for x, dark in enumerate(row):
            if dark:
                pixels[x + border, y + border] = BLACK
    return small.resize((small.width * module, small.height * module), Image.NEAREST)


def flatten(blocks: list[Block], width: int) -> Image.Image:
    """Stack blocks into one image, QR codes rendered with segno and centred."""
    images = [qr_image(b.data, b.module) if isinstance(b, QrBlock) else b for b in blocks]
    out = Image.new("L", (width, sum(i.height for i in images)), WHITE)
    y = 0
    for image in images:
        out.paste(image, ((width - image.width) // 2, y))
        y += image.height
    return out


def _wait_text(seconds: int | None, en: bool) -> str:
    if seconds is None:
        return "—"
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return f"~{minutes} min" if en else f"khoảng {minutes} phút"
    hours, rest = divmod(minutes, 60)
    if en:
        return f"~{hours} h {rest} min" if rest else f"~{hours} h"
    return f"khoảng {hours} giờ {rest} phút" if rest else f"khoảng {hours} giờ"


def _when(moment: datetime) -> str:
    return f"{moment:%H:%M} ngày {moment:%d/%m/%Y}"


def ticket_blocks(view: TicketView, paper: int = 80) -> list[Block]:
    en = view.service_en is not None
    b = _Builder(paper)
    b.gap(6)
    b.text(view.centre, 24, bold=True)
    b.rule()
    b.text("SỐ THỨ TỰ" + (" / YOUR NUMBER" if en else ""), 22)
    b.text(view.number, 150, bold=True)
    b.text(view.service_vi, 30, bold=True)
    if en:
        b.text(view.service_en, 22)
    b.rule()
    b.text(f"{view.issued_at:%H:%M}  {view.issued_at:%d/%m/%Y}", 24)
    b.text(f"Số người chờ trước bạn: {view.ahead}", 24)
    if en:
        b.text(f"People ahead of you: {view.ahead}", 20)
    b.text(f"Thời gian chờ dự kiến: {_wait_text(view.est_wait_s, False)}", 24)
    if en:
        b.text(f"Estimated wait: {_wait_text(view.est_wait_s, True)}", 20)
    b.gap(8)
    b.qr(view.track_url)
    b.text("Quét mã để theo dõi lượt của bạn", 20)
    if en:
        b.text("Scan to follow your turn", 18)
    if view.footer:
        b.gap(6)
        b.text(view.footer, 18)
    b.gap(10)
    return b.finish()


def _field(b: _Builder, label: str, value: str, *, bold: bool = False) -> None:
    b.text(label, 20, align="left")
    b.text(value, 24, bold=bold, align="left")
    b.gap(4)


def _form_head(b: _Builder, centre: str, number: str) -> None:
    """The top every form shares: centre, "Mẫu số NN", the title in capitals, the circular."""
    b.gap(6)
    b.text(centre, 22, bold=True)
    b.text(heading(number), 20, bold=True)
    b.gap(4)
    b.text(FORM_TITLES[number].upper(), 26, bold=True)
    b.text(f"({CIRCULAR})", 16)
    b.rule()


def slip_text(view: SlipView) -> list[str]:
    """Every string :func:`slip_blocks` draws, in order (a test reads the form without pixels)."""
    out = [view.centre, heading("01"), FORM_TITLES["01"].upper(), f"({CIRCULAR})",
           "Mã hồ sơ:", view.dossier_code, "Thủ tục:", view.procedure, "Người nộp hồ sơ:", view.applicant,
           "Thời gian tiếp nhận:", _when(view.received_at), "Hẹn trả kết quả:", _when(view.appointment_at)]
    if view.documents:
        out += ["Giấy tờ đã nhận:", *(f"{n}. {doc}" for n, doc in enumerate(view.documents, 1))]
    out += ["Người tiếp nhận:", view.official, "Quét mã để tra cứu tình trạng hồ sơ"]
    if view.footer:
        out.append(view.footer)
    return [unicodedata.normalize("NFC", t) for t in out]


def slip_blocks(view: SlipView, paper: int = 80) -> list[Block]:
    b = _Builder(paper)
    _form_head(b, view.centre, "01")
    _field(b, "Mã hồ sơ:", view.dossier_code, bold=True)
    _field(b, "Thủ tục:", view.procedure)
    _field(b, "Người nộp hồ sơ:", view.applicant)
    _field(b, "Thời gian tiếp nhận:", _when(view.received_at))
    _field(b, "Hẹn trả kết quả:", _when(view.appointment_at), bold=True)
    if view.documents:
        b.text("Giấy tờ đã nhận:", 20, align="left")
        for number, document in enumerate(view.documents, 1):
            b.text(f"{number}. {document}", 22, align="left")
        b.gap(4)
    _field(b, "Người tiếp nhận:", view.official)
    b.qr(view.track_url)
    b.text("Quét mã để tra cứu tình trạng hồ sơ", 20)
    if view.footer:
        b.text(view.footer, 18)
    b.gap(10)
    return b.finish()


def apology_sentence(view: ApologyView) -> str:
    return (f"{view.centre} xin lỗi ông/bà vì hồ sơ chưa được giải quyết đúng thời hạn và đề nghị "
            f"gia hạn thời gian giải quyết, hẹn trả kết quả vào ngày {view.new_date:%d/%m/%Y}.")


def _apology_fields(view: ApologyView) -> list[tuple[str, str, bool]]:
    fields = [("Kính gửi:", view.applicant, False), ("Mã hồ sơ:", view.dossier_code, True),
              ("Thủ tục:", view.procedure, False)]
    if view.received_at is not None:
        fields.append(("Ngày tiếp nhận hồ sơ:", _when(view.received_at), False))
    fields += [("Hạn trả kết quả theo quy định:", f"{view.original_date:%d/%m/%Y}", False),
               ("Lý do chậm trễ:", view.reason, False),
               ("Đề nghị gia hạn, hẹn trả kết quả vào ngày:", f"{view.new_date:%d/%m/%Y}", True)]
    return fields


def apology_text(view: ApologyView) -> list[str]:
    """Every string :func:`apology_blocks` draws, in order."""
    out = [view.centre, heading("04"), FORM_TITLES["04"].upper(), f"({CIRCULAR})"]
    for label, value, _ in _apology_fields(view):
        out += [label, value]
    out.append(apology_sentence(view))
    if view.official:
        out += ["Người ký:", view.official]
    if view.track_url:
        out.append("Quét mã để tra cứu tình trạng hồ sơ")
    if view.footer:
        out.append(view.footer)
    return [unicodedata.normalize("NFC", t) for t in out]


def apology_blocks(view: ApologyView, paper: int = 80) -> list[Block]:
    b = _Builder(paper)
    _form_head(b, view.centre, "04")
    for label, value, bold in _apology_fields(view):
        _field(b, label, value, bold=bold)
    b.text(apology_sentence(view), 22, align="left")
    b.gap(4)
    if view.official:
        _field(b, "Người ký:", view.official)
    if view.track_url:
        b.qr(view.track_url)
        b.text("Quét mã để tra cứu tình trạng hồ sơ", 20)
    if view.footer:
        b.text(view.footer, 18)
    b.gap(10)
    return b.finish()


def render_ticket(view: TicketView, paper: int = 80) -> Image.Image:
    """The ticket as a greyscale PIL image ``paper`` mm wide (576 or 384 dots)."""
    return flatten(ticket_blocks(view, paper), paper_width(paper))


def render_slip(view: SlipView, paper: int = 80) -> Image.Image:
    return flatten(slip_blocks(view, paper), paper_width(paper))


def render_apology(view: ApologyView, paper: int = 80) -> Image.Image:
    return flatten(apology_blocks(view, paper), paper_width(paper))


def _glyph(face: ImageFont.FreeTypeFont, ch: str) -> bytes:
    canvas = Image.new("L", (3 * face.size, 2 * face.size), WHITE)
    ImageDraw.Draw(canvas).text((face.size // 2, face.size // 4), ch, font=face, fill=BLACK)
    return canvas.tobytes()


def missing_glyphs(text: str, bold: bool = False) -> set[str]:
    """Characters of ``text`` the bundled font lacks: drawn empty or as the .notdef box (tested)."""
    face = font(40, bold)
    notdef = _glyph(face, "\U0010fffd")
    missing = set()
    for ch in set(unicodedata.normalize("NFC", text)):
        if ch.isspace():
            continue
        if face.getmask(ch).getbbox() is None or _glyph(face, ch) == notdef:
            missing.add(ch)
    return missing
