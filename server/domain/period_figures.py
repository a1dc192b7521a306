"""Every figure of the period report, defined once: key, Vietnamese label, one-line definition.

The dashboard, the JSON and the Excel workbook all read ``DEFINITIONS``, so a label cannot mean
one thing on a tile and another in a table. ``figures`` turns the ledger's counts for one group
(a site, a channel, a field, a procedure, an official) into these figures.

The convention (what provincial reports and Decision 766 count), for a period [from, to]:

    carried over + newly received = to handle = resolved + withdrawn + refused + open at the end

with "newly received" by *acceptance* date (an online dossier counts when an official accepts
it, not when it was submitted), "resolved" whatever the dossier's receipt date, and every stock
taken from the dated history as of the period's end (or today, while it is still running).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

CHANNELS = ("online", "direct", "postal")
CHANNEL_LABELS = {"online": "Trực tuyến", "direct": "Trực tiếp", "postal": "Bưu chính"}


@dataclass(frozen=True, slots=True)
class Definition:
    key: str
    label: str
    definition: str
    rate: bool = False  # a percentage (None when its denominator is 0), not a count


DEFINITIONS: tuple[Definition, ...] = (
    Definition("carried_over", "Kỳ trước chuyển sang",
               "Hồ sơ đã tiếp nhận trước kỳ, đầu kỳ chưa giải quyết xong, chưa rút, chưa bị từ chối."),
    Definition("received", "Tiếp nhận mới trong kỳ",
               "Hồ sơ được tiếp nhận trong kỳ (theo ngày tiếp nhận); hồ sơ trực tuyến chỉ tính khi đã được "
               "cán bộ tiếp nhận."),
    Definition("received_online", "Tiếp nhận mới – trực tuyến",
               "Trong số tiếp nhận mới: nộp qua Cổng dịch vụ công (Kênh thực hiện 2)."),
    Definition("received_direct", "Tiếp nhận mới – trực tiếp",
               "Trong số tiếp nhận mới: nộp trực tiếp tại bộ phận một cửa (Kênh thực hiện 1)."),
    Definition("received_postal", "Tiếp nhận mới – bưu chính",
               "Trong số tiếp nhận mới: nộp qua dịch vụ bưu chính công ích (Kênh thực hiện 3)."),
    Definition("to_handle", "Tổng số phải giải quyết",
               "Kỳ trước chuyển sang cộng tiếp nhận mới trong kỳ."),
    Definition("resolved", "Đã giải quyết trong kỳ",
               "Hồ sơ có kết quả trong kỳ, bất kể tiếp nhận kỳ nào."),
    Definition("resolved_ahead", "Giải quyết trước hạn",
               "Có kết quả trước ngày hẹn trả (thời gian chờ bổ sung không tính)."),
    Definition("resolved_on_time", "Giải quyết đúng hạn",
               "Có kết quả đúng ngày hẹn trả (không gồm trước hạn)."),
    Definition("resolved_late", "Giải quyết quá hạn",
               "Có kết quả sau ngày hẹn trả."),
    Definition("withdrawn", "Công dân rút hồ sơ",
               "Hồ sơ đã tiếp nhận, công dân rút trong kỳ."),
    Definition("refused", "Từ chối giải quyết",
               "Hồ sơ đã tiếp nhận, bị từ chối giải quyết trong kỳ."),
    Definition("open_end", "Đang giải quyết cuối kỳ",
               "Hồ sơ đã tiếp nhận, đến cuối kỳ chưa có kết quả, chưa rút, chưa bị từ chối."),
    Definition("open_within", "Đang giải quyết – còn hạn",
               "Trong số đang giải quyết cuối kỳ: chưa quá ngày hẹn trả."),
    Definition("open_past_due", "Đang giải quyết – đã quá hạn",
               "Trong số đang giải quyết cuối kỳ: đã quá ngày hẹn trả."),
    Definition("open_supplement", "Trong đó: chờ công dân bổ sung",
               "Đang giải quyết cuối kỳ và đang chờ bổ sung giấy tờ (không tính thời gian chờ vào hạn)."),
    Definition("open_paused", "Trong đó: tạm dừng xử lý",
               "Đang giải quyết cuối kỳ và đang ở trạng thái dừng xử lý (vẫn tính thời gian)."),
    Definition("late_total", "Tổng số quá hạn",
               "Giải quyết quá hạn trong kỳ cộng đang giải quyết đã quá hạn cuối kỳ."),
    Definition("awaiting_acceptance", "Trực tuyến chờ tiếp nhận cuối kỳ",
               "Hồ sơ nộp trực tuyến, đến cuối kỳ chưa được tiếp nhận; chưa tính vào tiếp nhận."),
    Definition("submitted_online", "Hồ sơ trực tuyến gửi đến trong kỳ",
               "Hồ sơ công dân nộp qua Cổng dịch vụ công trong kỳ (theo ngày nộp), trước khi tiếp nhận."),
    Definition("not_accepted", "Trực tuyến không được tiếp nhận",
               "Hồ sơ trực tuyến bị từ chối tiếp nhận hoặc công dân hủy trước khi tiếp nhận, trong kỳ."),
    Definition("supplement_requests", "Số lần yêu cầu bổ sung",
               "Số lần cán bộ yêu cầu bổ sung hồ sơ trong kỳ (Mẫu 02)."),
    Definition("apologies", "Văn bản xin lỗi (Mẫu 04)",
               "Số văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết đã phát hành trong kỳ."),
    Definition("on_time_rate", "Tỷ lệ giải quyết trước hạn và đúng hạn (%)",
               "(Giải quyết trước hạn + đúng hạn) / đã giải quyết trong kỳ × 100.", rate=True),
    Definition("online_rate", "Tỷ lệ tiếp nhận trực tuyến (%)",
               "Tiếp nhận mới – trực tuyến / tiếp nhận mới trong kỳ × 100.", rate=True),
)
KEYS = tuple(d.key for d in DEFINITIONS)
COUNT_KEYS = tuple(d.key for d in DEFINITIONS if not d.rate)
LABELS = {d.key: d.label for d in DEFINITIONS}

# ledger names (flows, and stocks judged on a day) → the figures they feed directly
_DIRECT = {
    "carried_over": "carried_over", "resolved_ahead": "resolved_ahead", "resolved_on_time": "resolved_on_time",
    "resolved_late": "resolved_late", "withdrawn": "withdrawn", "refused": "refused",
    "open_within": "open_within", "open_past_due": "open_past_due", "open_supplement": "open_supplement",
    "open_paused": "open_paused", "awaiting_acceptance": "awaiting_acceptance", "submitted": "submitted_online",
    "not_accepted": "not_accepted", "supplement_requested": "supplement_requests", "apology": "apologies",
}


def rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 2)


def figures(counts: Mapping[tuple[str, str], int]) -> dict[str, int | float | None]:
    """{(ledger name, channel): n} for one group → {figure key: value}, in ``KEYS`` order."""
    f = dict.fromkeys(COUNT_KEYS, 0)
    for (name, channel), n in counts.items():
        if name == "received":
            f["received"] += n
            f[f"received_{channel}"] += n
        elif name in _DIRECT:
            f[_DIRECT[name]] += n
    f["to_handle"] = f["carried_over"] + f["received"]
    f["resolved"] = f["resolved_ahead"] + f["resolved_on_time"] + f["resolved_late"]
    f["open_end"] = f["open_within"] + f["open_past_due"]
    f["late_total"] = f["resolved_late"] + f["open_past_due"]
    f["on_time_rate"] = rate(f["resolved_ahead"] + f["resolved_on_time"], f["resolved"])
    f["online_rate"] = rate(f["received_online"], f["received"])
    return {k: f[k] for k in KEYS}


def definitions() -> list[dict[str, object]]:
    return [{"key": d.key, "label": d.label, "definition": d.definition, "rate": d.rate} for d in DEFINITIONS]
