"""Reports as Excel workbooks a province official can forward as they are.

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

DOSSIER_COLUMNS: list[tuple[str, str | None, Any]] = [
    # (group header, sub header or None for a two-row cell, value getter)
    ("Tổng số hồ sơ tiếp nhận", "Tổng", lambda r: r["received"]["total"]),
    ("Tổng số hồ sơ tiếp nhận", "Trực tuyến", lambda r: r["received"]["online"]),
    ("Tổng số hồ sơ tiếp nhận", "Trực tiếp", lambda r: r["received"]["direct"]),
    ("Tổng số hồ sơ tiếp nhận", "Bưu chính", lambda r: r["received"]["postal"]),
    ("Đã giải quyết", "Tổng", lambda r: r["resolved"]["total"]),
    ("Đã giải quyết", "Trước hạn", lambda r: r["resolved"]["ahead"]),
    ("Đã giải quyết", "Đúng hạn", lambda r: r["resolved"]["on_time"]),
    ("Đã giải quyết", "Quá hạn", lambda r: r["resolved"]["late"]),
    ("Đang giải quyết", "Tổng", lambda r: r["in_progress"]["total"]),
    ("Đang giải quyết", "Trong hạn", lambda r: r["in_progress"]["within"]),
    ("Đang giải quyết", "Quá hạn", lambda r: r["in_progress"]["past_due"]),
    ("Tạm dừng xử lý", None, lambda r: r["paused"]),
    ("Công dân rút hồ sơ", None, lambda r: r["withdrawn"]),
    ("Không được tiếp nhận", None, lambda r: r["refused"]),
    ("Chờ tiếp nhận (trực tuyến)", None, lambda r: r["awaiting_acceptance"]),
]


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


def dossier_workbook(report: dict[str, Any], centre: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Hồ sơ TTHC"
    width = 2 + len(DOSSIER_COLUMNS)
    row = _title(ws, width, [
        "BÁO CÁO TÌNH HÌNH TIẾP NHẬN VÀ GIẢI QUYẾT HỒ SƠ THỦ TỤC HÀNH CHÍNH",
        centre,
        f"Kỳ báo cáo: từ ngày {_dmy(report['from'])} đến ngày {_dmy(report['to'])} "
        f"(số liệu tính đến ngày {_dmy(report['as_of'])})",
    ])
    head, sub = row, row + 1
    for col, text in ((1, "STT"), (2, "Đơn vị")):
        ws.merge_cells(start_row=head, start_column=col, end_row=sub, end_column=col)
        ws.cell(head, col, text)
    col = 3
    while col - 3 < len(DOSSIER_COLUMNS):
        group, subheader, _ = DOSSIER_COLUMNS[col - 3]
        if subheader is None:
            ws.merge_cells(start_row=head, start_column=col, end_row=sub, end_column=col)
            ws.cell(head, col, group)
            col += 1
            continue
        span = sum(1 for g, s, _ in DOSSIER_COLUMNS if g == group)
        ws.merge_cells(start_row=head, start_column=col, end_row=head, end_column=col + span - 1)
        ws.cell(head, col, group)
        for k in range(span):
            ws.cell(sub, col + k, DOSSIER_COLUMNS[col - 3 + k][1])
        col += span
    for r in (head, sub):
        for c in range(1, width + 1):
            cell = ws.cell(r, c)
            cell.font, cell.alignment, cell.fill, cell.border = BOLD, CENTER, HEAD_FILL, BOX
    units = report.get("sites") or [{**report, "name": centre}]
    row = sub + 1
    for n, unit in enumerate(units, 1):
        values = [n, unit.get("name") or unit.get("site")] + [get(unit) for _, _, get in DOSSIER_COLUMNS]
        for c, value in enumerate(values, 1):
            ws.cell(row, c, value).border = BOX
        row += 1
    totals = ["", "Tổng cộng"] + [get(report) for _, _, get in DOSSIER_COLUMNS]
    for c, value in enumerate(totals, 1):
        cell = ws.cell(row, c, value)
        cell.font, cell.border = BOLD, BOX
    ws.column_dimensions["A"].width = 5
    ws.column_dimensions["B"].width = 40
    for c in range(3, width + 1):
        ws.column_dimensions[get_column_letter(c)].width = 12
    ws.row_dimensions[head].height = 32
    ws.freeze_panes = ws.cell(sub + 1, 3)
    return _save(wb)


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
        values = [n, official, counts["very_satisfied"], counts["satisfied"], counts["not_satisfied"],
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
