"""The national sync format for a dossier (the one-stop systems' JSON towards the National Public
Service Portal), read into what intake needs. One record::

    {"MaHoSo": "000.00.00.H12-261102-0001",   # the dossier's code in the other system (kept as external_id)
     "MaTTHC": "1.004873",                     # national procedure code
     "ChuHoSo": "Lò Thị Mai", "SoDienThoai": "0912345678",
     "KenhThucHien": 2,                        # 1 direct, 2 online, 3 postal
     "TrangThaiHoSo": 2,                       # 1 submitted … 10 returned (see STATUS_BY_CODE)
     "NgayNopHoSo": "20261102201500",          # yyyyMMddHHmmss, local time of the site
     "NgayTiepNhan": "20261103080000",         # accepted (absent while status 1)
     "NgayHenTra": "20261106170000",           # appointment (informative: we compute our own due date)
     "NgayKetThucXuLy": null,                  # resolved / refused / withdrawn
     "NgayTra": null,                          # result returned
     "MaDonVi": "H12.34"}                      # the receiving unit (our site's agency code)

``parse`` checks the record and its dates: in order (submitted ≤ accepted ≤ ended ≤ returned),
none in the future, each status with the dates it implies. A bad record raises ``BadRecord``
with a stable code and a sentence saying what is wrong; the connector logs it and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from server.domain.dossiers import MAX_CLOCK_SKEW

CHANNEL_BY_CODE = {1: "direct", 2: "online", 3: "postal"}
STATUS_BY_CODE = {1: "submitted", 2: "received", 3: "refused", 4: "processing", 5: "supplement_requested",
                  6: "fee_due", 7: "withdrawn", 8: "paused", 9: "resolved", 10: "returned"}
ENDED = {3: "refused", 7: "withdrawn", 9: "resolved", 10: "resolved"}  # statuses that need NgayKetThucXuLy


class BadRecord(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True, slots=True)
class IncomingDossier:
    external_id: str
    procedure_code: str
    applicant_name: str
    phone: str | None
    channel: str
    status: str
    submitted_at: datetime
    accepted_at: datetime | None
    ended_at: datetime | None
    returned_at: datetime | None
    unit: str | None


def _moment(record: dict[str, Any], key: str, tz: ZoneInfo) -> datetime | None:
    value = record.get(key)
    if value in (None, ""):
        return None
    try:
        return datetime.strptime(str(value), "%Y%m%d%H%M%S").replace(tzinfo=tz)
    except ValueError:
        raise BadRecord("bad_date", f"{key} {value!r} is not a date yyyyMMddHHmmss") from None


def _code(record: dict[str, Any], key: str, allowed: dict[int, str]) -> int:
    try:
        code = int(record[key])
    except (KeyError, TypeError, ValueError):
        raise BadRecord("bad_record", f"{key} is missing or not a number") from None
    if code not in allowed:
        raise BadRecord("bad_record", f"{key} {code} is not one of {sorted(allowed)}")
    return code


def parse(record: Any, *, tz: ZoneInfo, now: datetime) -> IncomingDossier:
    if not isinstance(record, dict):
        raise BadRecord("bad_record", "a dossier record must be a JSON object")
    for key in ("MaHoSo", "MaTTHC", "ChuHoSo"):
        if not str(record.get(key) or "").strip():
            raise BadRecord("bad_record", f"{key} is missing")
    channel = CHANNEL_BY_CODE[_code(record, "KenhThucHien", CHANNEL_BY_CODE)]
    status_code = _code(record, "TrangThaiHoSo", STATUS_BY_CODE)
    submitted = _moment(record, "NgayNopHoSo", tz)
    accepted = _moment(record, "NgayTiepNhan", tz)
    ended = _moment(record, "NgayKetThucXuLy", tz)
    returned = _moment(record, "NgayTra", tz)
    if submitted is None:
        raise BadRecord("bad_record", "NgayNopHoSo is missing")
    named = [("NgayNopHoSo", submitted), ("NgayTiepNhan", accepted), ("NgayKetThucXuLy", ended), ("NgayTra", returned)]
    for key, moment in named:
        if moment is not None and moment > now + MAX_CLOCK_SKEW:
            raise BadRecord("dated_in_future", f"{key} {moment:%d/%m/%Y %H:%M} is in the future")
    present = [(k, m) for k, m in named if m is not None]
    for (k1, m1), (k2, m2) in zip(present, present[1:]):
        if m2 < m1:
            raise BadRecord("out_of_order", f"{k2} ({m2:%d/%m/%Y %H:%M}) is before {k1} ({m1:%d/%m/%Y %H:%M})")
    refused_at_intake = status_code in (3, 7) and accepted is None
    if channel != "online" and accepted is None and not refused_at_intake:
        accepted = submitted  # a counter or postal dossier is accepted when it arrives
    if status_code >= 2 and accepted is None and not refused_at_intake:
        raise BadRecord("bad_record", f"TrangThaiHoSo {status_code} needs NgayTiepNhan")
    if status_code in ENDED and ended is None:
        raise BadRecord("bad_record", f"TrangThaiHoSo {status_code} needs NgayKetThucXuLy")
    if status_code == 10 and returned is None:
        raise BadRecord("bad_record", "TrangThaiHoSo 10 needs NgayTra")
    return IncomingDossier(
        external_id=str(record["MaHoSo"]).strip()[:80], procedure_code=str(record["MaTTHC"]).strip(),
        applicant_name=str(record["ChuHoSo"]).strip()[:120],
        phone=(str(record["SoDienThoai"]).strip()[:20] or None) if record.get("SoDienThoai") else None,
        channel=channel, status=STATUS_BY_CODE[status_code], submitted_at=submitted, accepted_at=accepted,
        ended_at=ended, returned_at=returned, unit=(str(record["MaDonVi"]).strip() or None)
        if record.get("MaDonVi") else None,
    )


def to_record(d: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """The inverse, for the simulator and the docs: fields as datetimes → a national record."""
    def fmt(value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(tz).strftime("%Y%m%d%H%M%S")

    code = {v: k for k, v in STATUS_BY_CODE.items()}[d["status"]]
    return {"MaHoSo": d["external_id"], "MaTTHC": d["procedure_code"], "ChuHoSo": d["applicant_name"],
            "SoDienThoai": d.get("phone"), "KenhThucHien": {v: k for k, v in CHANNEL_BY_CODE.items()}[d["channel"]],
            "TrangThaiHoSo": code, "NgayNopHoSo": fmt(d["submitted_at"]), "NgayTiepNhan": fmt(d.get("accepted_at")),
            "NgayHenTra": None, "NgayKetThucXuLy": fmt(d.get("ended_at")), "NgayTra": fmt(d.get("returned_at")),
            "MaDonVi": d.get("unit")}
