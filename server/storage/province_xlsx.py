"""The province report as Excel: a ranking sheet in front of the site report's own workbook.

Sheet "Xếp hạng trung tâm": one row per centre in rank order — rank, centre, every figure (the
same ``DEFINITIONS`` labels as the other sheets) and its sync freshness (last batch received,
events held, events the site had not yet sent). Sheet "Lượt phục vụ theo trung tâm": each centre's
ticket report (``reports.ticket_report``: issued, served, no-show, cancelled, remote, waits and
service times in minutes, the estimate's error, ratings) and the province's. The sheets after are
``period_xlsx``'s: "Tổng hợp" for the province, "Theo trung tâm", channel, field, procedure,
official, Decision 766.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl.utils import get_column_letter

from server.domain.period_figures import DEFINITIONS, LABELS

from .period_xlsx import _head, _title, period_book
from .reports_xlsx import BOLD, BOX, _dmy, _minutes, _save
from .reports_xlsx import _title as _title_lines

RANKING = "Xếp hạng trung tâm"
TICKETS = "Lượt phục vụ theo trung tâm"
TICKET_HEADS = ["Phiếu đã cấp", "Đã phục vụ", "Vắng mặt", "Đã hủy", "Phiếu lấy từ xa",
                "Chờ — trung vị (phút)", "Chờ — P90 (phút)", "Phục vụ — trung vị (phút)", "Phục vụ — P90 (phút)",
                "Sai số trung bình của thời gian chờ dự kiến (phút)", "Rất hài lòng", "Hài lòng", "Không hài lòng"]
SYNC_HEADS = ["Đồng bộ lần cuối", "Số sự kiện tỉnh đã nhận", "Sự kiện chưa lên tỉnh"]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _when(iso: str | None) -> str:
    return datetime.fromisoformat(iso).astimezone(TZ).strftime("%d/%m/%Y %H:%M") if iso else "chưa đồng bộ"


def province_workbook(report: dict[str, Any], centre: str) -> bytes:
    wb = period_book(report, centre)
    ws = wb.create_sheet(RANKING, 0)
    wb.active = 0
    heads = ["Hạng", "Trung tâm"] + [d.label for d in DEFINITIONS] + SYNC_HEADS
    row = _title(ws, len(heads), report, centre)
    ws.cell(row - 1, 1, f"Xếp hạng theo: {LABELS[report['rank_by']]}").font = BOLD
    _head(ws, row, heads)
    for c in report["centres"]:
        row += 1
        sync = c["sync"] or {}
        values = [c["rank"], c["label"]] + [c["figures"][d.key] for d in DEFINITIONS] + [
            _when(sync.get("synced_at")), sync.get("held_seq"), sync.get("pending")]
        for col, value in enumerate(values, 1):
            ws.cell(row, col, value).border = BOX
    ws.column_dimensions["A"].width = 7
    ws.column_dimensions["B"].width = 40
    for col in range(3, len(heads) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 14
    ws.freeze_panes = ws.cell(row - len(report["centres"]) + 1, 3)
    if "tickets" in report:  # asked for with tickets=true
        _ticket_sheet(wb, report, centre)
    return _save(wb)


def ticket_values(t: dict[str, Any]) -> list[Any]:
    """One centre's (or the province's) ticket figures in ``TICKET_HEADS`` order."""
    o, r = t["overall"], t["ratings"]
    return [t["issued"], t["served"], t["no_show"], t["cancelled"], t["remote"]["issued"],
            _minutes(o["wait_median_s"]), _minutes(o["wait_p90_s"]), _minutes(o["service_median_s"]),
            _minutes(o["service_p90_s"]), _minutes(t["estimate"]["mean_abs_error_s"]),
            r["very_satisfied"], r["satisfied"], r["not_satisfied"]]


def _ticket_sheet(wb, report: dict[str, Any], centre: str) -> None:
    ws = wb.create_sheet(TICKETS, 1)
    heads = ["Hạng", "Trung tâm"] + TICKET_HEADS
    row = _title_lines(ws, len(heads), [
        "BÁO CÁO LƯỢT PHỤC VỤ VÀ MỨC ĐỘ HÀI LÒNG", centre,
        f"Kỳ báo cáo: từ ngày {_dmy(report['from'])} đến ngày {_dmy(report['to'])}"])
    _head(ws, row, heads)
    lines = [(c["rank"], c["label"], c["tickets"], False) for c in report["centres"]]
    if report.get("site") is None:
        lines.append(("", "Toàn tỉnh", report["tickets"], True))
    for rank, label, t, total in lines:
        row += 1
        for col, value in enumerate([rank, label] + ticket_values(t), 1):
            cell = ws.cell(row, col, value)
            cell.border = BOX
            if total:
                cell.font = BOLD
    ws.column_dimensions["A"].width = 7
    ws.column_dimensions["B"].width = 40
    for col in range(3, len(heads) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 14
