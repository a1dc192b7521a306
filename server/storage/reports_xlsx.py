"""The ticket report as an Excel workbook a province official can forward as it is (the dossier
report's workbook is ``period_xlsx``).

Title with the centre and the period, Vietnamese headers, a totals row. Totals are written as
values, not formulas, so every reader (and openpyxl in the tests) sees the same numbers.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
BOLD = Font(bold=True)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)

def _dmy(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d/%m/%Y")


def _title(ws, width: int, lines: list[str]) -> int:
    for i, text in enumerate(lines, 1):
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=width)
        cell = ws.cell(i, 1, text)
        cell.font = Font(bold=True, size=14 if i == 1 else 12)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    return len(lines) + 2


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


TICKET_COLUMNS = ["STT", "Tên", "Lượt được gọi", "Đã phục vụ", "Chờ — trung vị (phút)", "Chờ — P90 (phút)",
                  "Phục vụ — trung vị (phút)", "Phục vụ — P90 (phút)"]


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def ticket_workbook(report: dict[str, Any], centre: str, names: dict[str, dict[str, str]]) -> bytes:
    """``names``: display names for services and counters ({"service": {id: name}, "counter": {…}})."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Lượt phục vụ"
    width = len(TICKET_COLUMNS)
    row = _title(ws, width, [
        "BÁO CÁO LƯỢT PHỤC VỤ VÀ MỨC ĐỘ HÀI LÒNG", centre,
        f"Kỳ báo cáo: từ ngày {_dmy(report['from'])} đến ngày {_dmy(report['to'])}",
    ])
    est = report["estimate"]
    summary = [("Số phiếu đã cấp", report["issued"]), ("Số lượt đã phục vụ", report["served"]),
               ("Số lượt vắng mặt", report["no_show"]),
               ("Sai số trung bình của thời gian chờ dự kiến (phút)", _minutes(est["mean_abs_error_s"])),
               ("Số phiếu dùng để đo sai số", est["samples"])]
    for label, value in summary:
        ws.cell(row, 2, label).font = BOLD
        ws.cell(row, 3, value)
        row += 1
    row += 1
    for key, heading in (("service", "Theo lĩnh vực"), ("counter", "Theo quầy"), ("official", "Theo cán bộ")):
        ws.cell(row, 1, heading).font = Font(bold=True, size=12)
        row += 1
        for c, text in enumerate(TICKET_COLUMNS, 1):
            cell = ws.cell(row, c, text)
            cell.font, cell.alignment, cell.fill, cell.border = BOLD, CENTER, HEAD_FILL, BOX
        row += 1
        for n, (name, s) in enumerate(report[f"by_{key}"].items(), 1):
            values = [n, names.get(key, {}).get(name, name), s["called"], s["served"], _minutes(s["wait_median_s"]),
                      _minutes(s["wait_p90_s"]), _minutes(s["service_median_s"]), _minutes(s["service_p90_s"])]
            for c, value in enumerate(values, 1):
                ws.cell(row, c, value).border = BOX
            row += 1
        o = report["overall"]
        totals = ["", "Tổng cộng", o["called"], o["served"], _minutes(o["wait_median_s"]), _minutes(o["wait_p90_s"]),
                  _minutes(o["service_median_s"]), _minutes(o["service_p90_s"])]
        for c, value in enumerate(totals, 1):
            cell = ws.cell(row, c, value)
            cell.font, cell.border = BOLD, BOX
        row += 2
    ws.cell(row, 1, "Mức độ hài lòng").font = Font(bold=True, size=12)
    row += 1
    for c, text in enumerate(["STT", "Cán bộ", "Rất hài lòng", "Hài lòng", "Không hài lòng", "Tổng"], 1):
        cell = ws.cell(row, c, text)
        cell.font, cell.alignment, cell.fill, cell.border = BOLD, CENTER, HEAD_FILL, BOX
    row += 1
    ratings = report["ratings"]
    for n, (official, counts) in enumerate(ratings["by_official"].items(), 1):
        values = [n, names.get("official", {}).get(official, official), counts["very_satisfied"], counts["satisfied"], counts["not_satisfied"],
                  sum(counts.values())]
        for c, value in enumerate(values, 1):
            ws.cell(row, c, value).border = BOX
        row += 1
    for c, value in enumerate(["", "Tổng cộng", ratings["very_satisfied"], ratings["satisfied"],
                               ratings["not_satisfied"], ratings["total"]], 1):
        cell = ws.cell(row, c, value)
        cell.font, cell.border = BOLD, BOX
    ws.column_dimensions["A"].width = 5
    ws.column_dimensions["B"].width = 34
    for c in range(3, width + 1):
        ws.column_dimensions[get_column_letter(c)].width = 14
    return _save(wb)
