"""The data of the 2025 forms (Thông tư 03/2025/TT-VPCP) for one dossier, or a period's book.

Each builder reads the dossier as the API shows it (``DossierStore.get``) and returns the
``devices.forms`` view the printer and the PNG route render, so the form a citizen is handed
and the one on the screen are the same. A form that does not apply to the dossier (a refusal
slip for a dossier never refused) is a clear ``form_not_applicable`` refusal, never an empty form.

What a citizen's form says about *why* (supplement, refusal, stop) is the change's public note
when the official wrote one, else its note: that note is the reason the rules make the official
give, and the form is how the citizen is told.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import select

from devices.forms import BOOK_COLUMNS, CIRCULAR, FORM_TITLES, BookView, FormView, heading
from server.domain.calendar import classify
from server.domain.dossiers import DossierStatus
from server.domain.errors import DomainError, InvalidInput

from .dossier_store import DossierStore
from .tables import dossiers, users

DOSSIER_FORMS = ("02", "03", "05", "06")
TIMELINESS_VI = {"ahead": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn", "within": "Trong hạn",
                 "past_due": "Quá hạn"}


class FormNotApplicable(DomainError):
    code = "form_not_applicable"
    kind = "conflict"


def _day(value: str | None) -> str:
    return "" if not value else date.fromisoformat(value[:10]).strftime("%d/%m/%Y")


def _moment(value: str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    return f"{moment:%H:%M} ngày {moment:%d/%m/%Y}"


def _names(store: DossierStore, usernames: set[str]) -> dict[str, str]:
    with store.db.read() as conn:
        rows = conn.execute(select(users.c.username, users.c.full_name).where(users.c.username.in_(usernames))).all()
    return {r.username: r.full_name or r.username for r in rows}


def _last(view: dict, *statuses: str) -> tuple[int, dict] | None:
    for n in range(len(view["history"]) - 1, -1, -1):
        if view["history"][n]["to"] in statuses:
            return n, view["history"][n]
    return None


def dossier_form(store: DossierStore, code: str, number: str, *, site: str | None = None,
                 now: datetime | None = None) -> FormView:
    """Form 02, 03, 05 or 06 of dossier ``code`` (01 and 04 have their own views)."""
    if number not in DOSSIER_FORMS:
        raise InvalidInput(f"form must be one of {', '.join(DOSSIER_FORMS)} here (01: slip.png, 04: the apology; "
                           "07: the site's book)", code="unknown_form")
    view = store.get(code, site=site, now=now)
    profile = store.profile_for(view["site"])
    names = _names(store, {c["by"] for c in view["history"]})
    base = [("Mã hồ sơ:", view["code"], True), ("Thủ tục:", view["procedure"]["name_vi"], False),
            ("Người nộp hồ sơ:", view["applicant_name"], False),
            ("Thời gian tiếp nhận:", _moment(view["received_at"] or view["submitted_at"]), False)]
    common = {"number": number, "centre": profile.name, "dossier_code": view["code"], "track_url": view["track_url"]}

    def why(change: dict) -> str:
        return change["public_note"] or change["note"] or ""

    if number == "02":
        found = _last(view, DossierStatus.SUPPLEMENT_REQUESTED.value)
        if found is None:
            raise FormNotApplicable(f"no supplement was asked for {code}; Mẫu 02 does not apply")
        index, change = found
        nth = sum(1 for c in view["history"][: index + 1] if c["to"] == DossierStatus.SUPPLEMENT_REQUESTED.value)
        fields = [*base, ("Ngày yêu cầu bổ sung:", _moment(change["at"]), False),
                  ("Lần yêu cầu:", str(nth), nth > 1),
                  ("Nội dung cần bổ sung, hoàn thiện:", why(change), True)]
        if change.get("reason"):
            fields.append(("Lý do yêu cầu bổ sung lần thứ hai:", change["reason"], False))
        paragraphs = ("Thời gian chờ công dân bổ sung không tính vào thời hạn giải quyết.",
                      f"Khi bổ sung, xin mang theo phiếu này đến {profile.result_desk}.")
        return FormView(**common, fields=tuple(fields), paragraphs=paragraphs,
                        official=names.get(change["by"], change["by"]))
    if number == "03":
        found = _last(view, DossierStatus.REFUSED.value)
        if found is None:
            raise FormNotApplicable(f"{code} was not refused; Mẫu 03 does not apply")
        _, change = found
        fields = [*base, ("Ngày từ chối:", _moment(change["at"]), False), ("Lý do từ chối:", why(change), True)]
        return FormView(**common, fields=tuple(fields), official=names.get(change["by"], change["by"]),
                        paragraphs=(f"{profile.name} xin thông báo hồ sơ không được tiếp nhận, giải quyết vì "
                                    "lý do nêu trên.",))
    if number == "05":
        found = _last(view, DossierStatus.WITHDRAWN.value, DossierStatus.PAUSED.value)
        if found is None:
            raise FormNotApplicable(f"{code} was neither withdrawn nor stopped; Mẫu 05 does not apply")
        _, change = found
        kind = ("Công dân rút hồ sơ" if change["to"] == DossierStatus.WITHDRAWN.value
                else "Dừng giải quyết hồ sơ")
        fields = [*base, ("Hình thức:", kind, True), ("Ngày dừng:", _moment(change["at"]), False),
                  ("Lý do:", why(change), False)]
        return FormView(**common, fields=tuple(fields), official=names.get(change["by"], change["by"]))
    # 06: the processing-control sheet, one row per hand-off in the history
    return FormView(**common, fields=(*base, ("Hẹn trả kết quả:", _day(view["promised_date"]), True)),
                    columns=("Thời gian", "Người thực hiện", "Nội dung", "So với hạn"),
                    rows=tuple(_hand_offs(view, names)),
                    paragraphs=("Mỗi bước được đánh giá so với ngày hẹn trả của hồ sơ tại thời điểm đó "
                                "(thời gian chờ bổ sung không tính).",))


def _hand_offs(view: dict, names: dict[str, str]) -> list[tuple[str, ...]]:
    """One row per change: when, who, what, and ahead / on time / late against the due date."""
    due = date.fromisoformat(view["due_date"]) if view["due_date"] else None
    rows = []
    for change in view["history"]:
        done_on = date.fromisoformat(change["at"][:10])
        judged = TIMELINESS_VI[classify(due, done_on).value] if due else ""
        rows.append((_moment(change["at"]), names.get(change["by"], change["by"]), change["label_vi"], judged))
    return rows


# -- Mẫu 07: the tracking book ------------------------------------------------------------------


def book_view(store: DossierStore, site: str, date_from: date, date_to: date, *,
              now: datetime | None = None) -> BookView:
    """Every dossier accepted (or, online, submitted) at ``site`` between the two days, in order."""
    if date_to < date_from:
        raise InvalidInput("to is before from", code="invalid_period")
    if (date_to - date_from).days > 366:
        raise InvalidInput("a book covers at most a year", code="invalid_period")
    profile = store.profile_for(site)
    with store.db.read() as conn:
        codes = conn.execute(
            select(dossiers.c.code)
            .where(dossiers.c.site == site, dossiers.c.filed_on >= date_from, dossiers.c.filed_on <= date_to)
            .order_by(dossiers.c.filed_on, dossiers.c.id)
        ).scalars().all()
    rows = []
    for n, code in enumerate(codes, 1):
        v = store.get(code, site=site, now=now)
        rows.append((str(n), v["code"], v["procedure"]["name_vi"], v["applicant_name"],
                     _day(v["received_at"] or v["submitted_at"]), _day(v["promised_date"]), _day(v["resolved_at"]),
                     _day(v["returned_at"]), v["status_label_vi"], TIMELINESS_VI.get(v["timeliness"] or "", "")))
    return BookView(centre=profile.name, date_from=date_from, date_to=date_to, rows=tuple(rows), printed_at=now)


def book_xlsx(book: BookView) -> bytes:
    """Mẫu 07 as an A4 landscape worksheet: header, one row per dossier, print titles repeated."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Mẫu số 07"
    ws.append([book.centre])
    ws.append([f"{heading('07')} — {FORM_TITLES['07'].upper()}"])
    ws.append([f"({CIRCULAR})"])
    ws.append([book.period()])
    ws.append(list(BOOK_COLUMNS))
    for row in book.rows:
        ws.append([int(row[0]), *row[1:]])
    ws["A1"].font = Font(bold=True)
    ws["A2"].font = Font(bold=True, size=14)
    for cell in ws[5]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for letter, width in zip("ABCDEFGHIJ", (5, 26, 34, 22, 13, 12, 13, 12, 18, 11)):
        ws.column_dimensions[letter].width = width
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "5:5"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def describe() -> list[dict[str, Any]]:
    """The forms and where each comes from (for the API's listing)."""
    return [{"number": n, "title": t, "heading": heading(n)} for n, t in FORM_TITLES.items()]
