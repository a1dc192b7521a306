"""Decision 766/QĐ-TTg sub-indices the centre can compute from what it holds.

Each sub-index has a ratio R (percent) and is scored ``Pmax if R >= threshold else R × Pmax /
threshold``. The weights (Pmax, threshold) are CONFIGURABLE (site settings ``score_766``): the
defaults below follow no text of the decision itself, which leaves them to the portal's published
scoring practice — a centre sets the ones its province uses. Sub-indices whose data the centre
does not hold are listed with what it would need, never guessed.

* 2.1 on time: dossiers resolved in the period on or before the appointment date, with the time
  waiting for a supplement subtracted, plus open dossiers still within due at the period's end,
  over resolved + open. A dossier asked for a supplement more than once counts late.
* 3.3 online share: dossiers received online (KenhThucHien 2) over all received.
* 3.6 online payment: fee steps ended in the period (fee_due → processing / resolved) whose fee
  the official marked paid online, over all fee steps ended in the period.
* 4.1 digitised results: dossiers resolved in the period whose result was marked digitised, over
  all resolved in the period.
* 4.2 digitised dossiers: dossiers received (accepted) in the period whose components were marked
  digitised at intake or acceptance, over all received in the period.
* 5.4 satisfaction: 100% − the share overdue (resolved late or open past due) − the share of
  ratings "not satisfied" (complaints are not recorded here and count 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

DEFAULT_WEIGHTS: Mapping[str, Mapping[str, float]] = {
    "2.1": {"pmax": 10.0, "threshold": 100.0},
    "3.3": {"pmax": 2.0, "threshold": 50.0},
    "3.6": {"pmax": 2.0, "threshold": 50.0},
    "4.1": {"pmax": 4.0, "threshold": 100.0},
    "4.2": {"pmax": 4.0, "threshold": 100.0},
    "5.4": {"pmax": 10.0, "threshold": 90.0},
}

# the ledger's flow kinds the sub-indices read besides the period figures
INPUT_NAMES = ("resolved_in_time_multi_supplement", "open_within_multi_supplement", "fee_paid", "fee_paid_online",
               "received_digitised", "resolved_result_digitised")

NOT_COMPUTED: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SubIndex:
    code: str
    name: str
    formula: str
    to_raise: str


SUB_INDICES = (
    SubIndex("2.1", "Tiến độ giải quyết (đúng hạn)",
             "R = (đã giải quyết trước hạn và đúng hạn − số có hơn một lần yêu cầu bổ sung + đang giải quyết còn hạn"
             " − số có hơn một lần yêu cầu bổ sung) / (đã giải quyết + đang giải quyết cuối kỳ) × 100",
             "Giải quyết đúng hẹn, chỉ yêu cầu bổ sung một lần, xin lỗi và hẹn lại sớm khi sắp trễ hạn."),
    SubIndex("3.3", "Tỷ lệ hồ sơ trực tuyến",
             "R = tiếp nhận mới – trực tuyến / tiếp nhận mới trong kỳ × 100",
             "Hướng dẫn công dân nộp trực tuyến trên Cổng dịch vụ công tại quầy và tại nhà."),
    SubIndex("3.6", "Thanh toán trực tuyến",
             "R = số lần nộp phí, lệ phí đã thanh toán trực tuyến / số lần nộp phí, lệ phí hoàn tất trong kỳ × 100",
             "Hướng dẫn công dân thanh toán phí, lệ phí qua Cổng dịch vụ công; khi kết thúc bước nộp phí, "
             "chọn «TT trực tuyến» nếu công dân đã thanh toán trực tuyến."),
    SubIndex("4.1", "Số hóa kết quả giải quyết",
             "R = hồ sơ giải quyết trong kỳ có kết quả được số hóa / đã giải quyết trong kỳ × 100",
             "Số hóa, ký số kết quả trước khi trả và chọn «Đã số hóa» khi cập nhật «Đã xử lý xong»."),
    SubIndex("4.2", "Số hóa hồ sơ",
             "R = hồ sơ tiếp nhận trong kỳ được số hóa thành phần / tiếp nhận mới trong kỳ × 100",
             "Quét, số hóa thành phần hồ sơ ngay khi tiếp nhận và chọn «Đã số hóa thành phần» khi tiếp nhận."),
    SubIndex("5.4", "Mức độ hài lòng",
             "R = 100 − tỷ lệ hồ sơ quá hạn (giải quyết quá hạn + đang quá hạn) − tỷ lệ đánh giá «không hài lòng»",
             "Giảm hồ sơ quá hạn; xem lại các lượt đánh giá «không hài lòng»."),
)


def check_weights(value: Any) -> dict[str, dict[str, float]]:
    """Site settings ``score_766`` → weights; a clear error naming the key when wrong."""
    if not isinstance(value, dict):
        raise ValueError("score_766 must be a table like {\"2.1\": {\"pmax\": 10, \"threshold\": 100}}")
    out = {}
    for code, w in value.items():
        if code not in DEFAULT_WEIGHTS:
            raise ValueError(f"score_766.{code}: unknown sub-index (known: {', '.join(DEFAULT_WEIGHTS)})")
        if not isinstance(w, dict) or set(w) != {"pmax", "threshold"} or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in w.values()):
            raise ValueError(f"score_766.{code} must be {{pmax = number > 0, threshold = number > 0}}")
        out[code] = {"pmax": float(w["pmax"]), "threshold": float(w["threshold"])}
    return out


def points(ratio: float | None, pmax: float, threshold: float) -> float | None:
    if ratio is None:
        return None
    return round(pmax if ratio >= threshold else ratio * pmax / threshold, 2)


def _share(part: float, whole: float) -> float | None:
    return None if whole == 0 else 100.0 * part / whole


def ratios(figures: Mapping[str, Any], extra: Mapping[str, int], ratings: Mapping[str, int]) -> dict[str, Any]:
    """R of each sub-index (percent, or None when there is nothing to judge) and its inputs."""
    judged = figures["resolved"] + figures["open_end"]
    in_time = (figures["resolved_ahead"] + figures["resolved_on_time"] - extra["resolved_in_time_multi_supplement"]
               + figures["open_within"] - extra["open_within_multi_supplement"])
    rated = sum(ratings.values())
    overdue = _share(figures["late_total"], judged)
    unhappy = _share(ratings.get("not_satisfied", 0), rated) if rated else 0.0
    satisfaction = None if overdue is None else max(0.0, 100.0 - overdue - unhappy)
    return {
        "2.1": (_share(in_time, judged), {"on_time": in_time, "judged": judged}),
        "3.3": (_share(figures["received_online"], figures["received"]),
                {"online": figures["received_online"], "received": figures["received"]}),
        "3.6": (_share(extra.get("fee_paid_online", 0), extra.get("fee_paid", 0)),
                {"paid_online": extra.get("fee_paid_online", 0), "fee_paid": extra.get("fee_paid", 0)}),
        "4.1": (_share(extra.get("resolved_result_digitised", 0), figures["resolved"]),
                {"result_digitised": extra.get("resolved_result_digitised", 0), "resolved": figures["resolved"]}),
        "4.2": (_share(extra.get("received_digitised", 0), figures["received"]),
                {"digitised": extra.get("received_digitised", 0), "received": figures["received"]}),
        "5.4": (satisfaction, {"overdue": figures["late_total"], "judged": judged,
                               "not_satisfied": ratings.get("not_satisfied", 0), "rated": rated}),
    }


def score(figures: Mapping[str, Any], extra: Mapping[str, int], ratings: Mapping[str, int],
          weights: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Any]:
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    found = ratios(figures, extra, ratings)
    items = []
    for sub in SUB_INDICES:
        ratio, inputs = found[sub.code]
        w = weights[sub.code]
        items.append({
            "code": sub.code, "name": sub.name, "formula": sub.formula,
            "scoring": f"Điểm = {w['pmax']:g} nếu R ≥ {w['threshold']:g}%, nếu không = R × {w['pmax']:g} / "
                       f"{w['threshold']:g}",
            "ratio": None if ratio is None else round(ratio, 2), "pmax": w["pmax"], "threshold": w["threshold"],
            "points": points(ratio, w["pmax"], w["threshold"]), "inputs": inputs, "to_raise": sub.to_raise,
        })
    return {"sub_indices": items, "not_computed": list(NOT_COMPUTED),
            "weights_note": "Trọng số (điểm tối đa, ngưỡng) lấy theo cách chấm công bố trên Cổng dịch vụ công, "
                            "không có trong văn bản Quyết định 766; trung tâm chỉnh trong cấu hình (score_766)."}
