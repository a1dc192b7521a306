"""The period report as an Excel workbook a director forwards as it is.

Sheet "Tổng hợp": one row per figure — its label, its value and its one-line definition, the very
``DEFINITIONS`` the dashboard shows. Then one sheet per breakdown (by centre for the province,
channel, field, procedure, official): a row per group, a column per count figure plus the two
rates. Values, never formulas, so every reader sees the same numbers.
"""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from server.domain.period_figures import DEFINITIONS
from server.storage.reports_xlsx import BOLD, BOX, CENTER, HEAD_FILL, _dmy, _save
from server.storage.reports_xlsx import _title as _title_lines

WRAP = Alignment(vertical="top", wrap_text=True)
SUMMARY = "Tổng hợp"
BREAKDOWNS = (("sites", "Theo trung tâm", "Trung tâm"), ("channel", "Theo kênh", "Kênh nộp"),
              ("field", "Theo lĩnh vực", "Lĩnh vực"), ("procedure", "Theo thủ tục", "Thủ tục"),
              ("official", "Theo cán bộ", "Cán bộ tiếp nhận"))


def _head(ws, row: int, texts: list[str]) -> None:
    for c, text in enumerate(texts, 1):
        cell = ws.cell(row, c, text)
        cell.font, cell.alignment, cell.fill, cell.border = BOLD, CENTER, HEAD_FILL, BOX


def _title(ws, width: int, report: dict[str, Any], centre: str) -> int:
    return _title_lines(ws, width, [
        "BÁO CÁO TÌNH HÌNH TIẾP NHẬN VÀ GIẢI QUYẾT HỒ SƠ THỦ TỤC HÀNH CHÍNH", centre,
        f"Kỳ báo cáo: từ ngày {_dmy(report['from'])} đến ngày {_dmy(report['to'])} "
        f"(số liệu tính đến hết ngày {_dmy(report['as_of'])})"])


def period_workbook(report: dict[str, Any], centre: str) -> bytes:
    return _save(period_book(report, centre))


def period_book(report: dict[str, Any], centre: str) -> Workbook:
    """The workbook itself (the province's adds its ranking sheet in front)."""
    wb = Workbook()
    ws = wb.active
    ws.title = SUMMARY
    row = _title(ws, 4, report, centre)
    _head(ws, row, ["STT", "Chỉ tiêu", "Số liệu", "Định nghĩa"])
    for n, d in enumerate(DEFINITIONS, 1):
        row += 1
        for c, value in enumerate([n, d.label, report["figures"][d.key], d.definition], 1):
            cell = ws.cell(row, c, value)
            cell.border, cell.alignment = BOX, WRAP
    for col, width in zip("ABCD", (5, 44, 12, 80)):
        ws.column_dimensions[col].width = width
    for key, title, header in BREAKDOWNS:
        if key == "sites" and "sites" not in report:
            continue
        groups = report["sites"] if key == "sites" else report["breakdowns"][key]
        sheet = wb.create_sheet(title)
        width = 2 + len(DEFINITIONS)
        row = _title(sheet, width, report, centre)
        _head(sheet, row, ["STT", header] + [d.label for d in DEFINITIONS])
        for n, g in enumerate(groups, 1):
            row += 1
            for c, value in enumerate([n, g["label"]] + [g["figures"][d.key] for d in DEFINITIONS], 1):
                sheet.cell(row, c, value).border = BOX
        row += 1
        for c, value in enumerate(["", "Tổng cộng"] + [report["figures"][d.key] for d in DEFINITIONS], 1):
            cell = sheet.cell(row, c, value)
            cell.font, cell.border = BOLD, BOX
        sheet.column_dimensions["A"].width = 5
        sheet.column_dimensions["B"].width = 40
        for c in range(3, width + 1):
            sheet.column_dimensions[get_column_letter(c)].width = 14
        sheet.freeze_panes = sheet.cell(row - len(groups), 3)
    if "decision_766" in report:
        _score_sheet(wb.create_sheet("Chỉ số 766"), report, centre)
    return wb


def _score_sheet(ws, report: dict[str, Any], centre: str) -> None:
    """Decision 766 sub-indices: ratio, weights, points, formula and what would raise it."""
    score = report["decision_766"]
    heads = ["Mã", "Chỉ số", "R (%)", "Ngưỡng (%)", "Điểm tối đa", "Điểm", "Công thức", "Cách chấm", "Để nâng điểm"]
    row = _title(ws, len(heads), report, centre)
    _head(ws, row, heads)
    for item in score["sub_indices"]:
        row += 1
        values = [item["code"], item["name"], item["ratio"], item["threshold"], item["pmax"], item["points"],
                  item["formula"], item["scoring"], item["to_raise"]]
        for c, value in enumerate(values, 1):
            cell = ws.cell(row, c, value)
            cell.border, cell.alignment = BOX, WRAP
    for item in score["not_computed"]:
        row += 1
        for c, value in enumerate([item["code"], item["name"], "chưa tính được", None, None, None,
                                   None, None, "Cần: " + item["needs"]], 1):
            cell = ws.cell(row, c, value)
            cell.border, cell.alignment = BOX, WRAP
    ws.cell(row + 2, 1, score["weights_note"]).alignment = WRAP
    for col, width in zip("ABCDEFGHI", (6, 28, 9, 10, 10, 8, 50, 30, 40)):
        ws.column_dimensions[col].width = width
