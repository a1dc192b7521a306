"""The province report as Excel: a ranking sheet in front of the site report's own workbook.

Sheet "Xếp hạng trung tâm": one row per centre in rank order — rank, centre, every figure (the
same ``DEFINITIONS`` labels as the other sheets) and its sync freshness (last batch received,
events held, events the site had not yet sent). The sheets after it are ``period_xlsx``'s:
"Tổng hợp" for the province, "Theo trung tâm", channel, field, procedure, official, Decision 766.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl.utils import get_column_letter

from server.domain.period_figures import DEFINITIONS, LABELS

from .period_xlsx import _head, _title, period_book
from .reports_xlsx import BOLD, BOX, _save

RANKING = "Xếp hạng trung tâm"
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
    return _save(wb)
