"""Import a centre's existing register ("Sổ theo dõi hồ sơ", an Excel or CSV export of its
current one-stop system), so a centre starting mid-year reports its whole year.

Columns are found by their Vietnamese headers (case and accents as exported; order free):

    Mã hồ sơ | Mã thủ tục | Chủ hồ sơ | Số điện thoại | Kênh | Trạng thái |
    Ngày nộp | Ngày tiếp nhận | Ngày kết thúc xử lý | Ngày trả kết quả

"Kênh": Trực tiếp / Trực tuyến / Bưu chính (or 1 / 2 / 3). "Trạng thái": the national code 1–10
or its wording (e.g. "Đã trả kết quả"); left empty, it follows from the dates. Dates:
``dd/mm/yyyy HH:MM``, ``dd/mm/yyyy`` (08:00), ISO, or Excel date cells; local time of the site.

Each row becomes a national record checked like a pulled one (``server.connector.national``:
dates in order, none in the future) and enters through ``external_intake`` — the same path as the
connector, so imported dossiers count in every report exactly like native ones, and a re-run adds
nothing (idempotent by "Mã hồ sơ"). ``dry_run`` checks every row and writes nothing.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from server.connector import national
from server.domain.errors import DomainError

from . import external_intake
from .dossier_store import DossierStore
from .tables import dossiers, procedures

HEADERS = {
    "ma ho so": "MaHoSo", "ma thu tuc": "MaTTHC", "chu ho so": "ChuHoSo", "so dien thoai": "SoDienThoai",
    "kenh": "KenhThucHien", "trang thai": "TrangThaiHoSo", "ngay nop": "NgayNopHoSo",
    "ngay tiep nhan": "NgayTiepNhan", "ngay ket thuc xu ly": "NgayKetThucXuLy", "ngay tra ket qua": "NgayTra",
}
REQUIRED = ("MaHoSo", "MaTTHC", "ChuHoSo", "NgayNopHoSo")
CHANNELS = {"truc tiep": 1, "truc tuyen": 2, "buu chinh": 3, "1": 1, "2": 2, "3": 3}
STATUSES = {"moi dang ky": 1, "da tiep nhan": 2, "duoc tiep nhan": 2, "khong duoc tiep nhan": 3, "tu choi": 3,
            "dang xu ly": 4, "yeu cau bo sung": 5, "nghia vu tai chinh": 6, "rut ho so": 7,
            "cong dan yeu cau rut ho so": 7, "dung xu ly": 8, "da xu ly xong": 9, "da giai quyet": 9,
            "da tra ket qua": 10}
ACTOR = "import"


def plain(text: Any) -> str:
    """Lower case, no accents, single spaces: how headers and wordings are matched."""
    text = unicodedata.normalize("NFD", str(text or "")).replace("đ", "d").replace("Đ", "d")
    return " ".join("".join(c for c in text if unicodedata.category(c) != "Mn").lower().split())


class RegisterError(ValueError):
    """The file itself cannot be read (not the rows in it)."""


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)  # {"row", "MaHoSo", "code", "message"}


def read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of the first sheet (xlsx) or the CSV, keyed by national field names; "row" = line number."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        table = [list(r) for r in sheet.iter_rows(values_only=True)]
    elif path.suffix.lower() == ".csv":
        text = path.read_bytes().decode("utf-8-sig")
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
        table = list(csv.reader(io.StringIO(text), dialect))
    else:
        raise RegisterError(f"{path.name}: give an .xlsx or .csv file")
    for i, row in enumerate(table):
        names = [HEADERS.get(plain(c)) for c in row]
        if "MaHoSo" in names:
            missing = [k for k in REQUIRED if k not in names]
            if missing:
                raise RegisterError(f"{path.name}: the header row has no column {', '.join(missing)}")
            return [{"row": i + 1 + n, **{k: v for k, v in zip(names, values) if k}}
                    for n, values in enumerate(table[i + 1:], 1) if any(v not in (None, "") for v in values)]
    raise RegisterError(f"{path.name}: no header row with 'Mã hồ sơ' found")


def _stamp(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y%m%d%H%M%S")
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, 8).strftime("%Y%m%d%H%M%S")
    text = str(value).strip()
    for fmt in ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
                "%Y%m%d%H%M%S"):
        try:
            return datetime.strptime(text, fmt).strftime("%Y%m%d%H%M%S")
        except ValueError:
            pass
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(hour=8).strftime("%Y%m%d%H%M%S")
        except ValueError:
            pass
    return text  # national.parse refuses it with the column's name


def to_record(row: dict[str, Any]) -> dict[str, Any]:
    record = {k: row.get(k) for k in ("MaHoSo", "MaTTHC", "ChuHoSo", "SoDienThoai")}
    record["MaHoSo"] = str(record["MaHoSo"] or "").strip()
    for key in ("NgayNopHoSo", "NgayTiepNhan", "NgayKetThucXuLy", "NgayTra"):
        record[key] = _stamp(row.get(key))
    channel = plain(row.get("KenhThucHien"))
    record["KenhThucHien"] = CHANNELS.get(channel, channel or 1)
    status = plain(row.get("TrangThaiHoSo"))
    if status:
        record["TrangThaiHoSo"] = int(status) if status.isdigit() else STATUSES.get(status, status)
    else:
        record["TrangThaiHoSo"] = (10 if record["NgayTra"] else 9 if record["NgayKetThucXuLy"]
                                   else 2 if record["NgayTiepNhan"] or record["KenhThucHien"] != 2 else 1)
    return record


def import_register(store: DossierStore, site: str, path: Path, *, dry_run: bool,
                    now: datetime | None = None) -> ImportResult:
    rows = read_table(Path(path))
    profile = store.profile_for(site)
    now = now or datetime.now(timezone.utc)
    result = ImportResult(rows=len(rows))
    with store.db.read() as conn:
        known_procedures = set(conn.execute(select(procedures.c.code)).scalars())
        existing = set(conn.execute(select(dossiers.c.external_id).where(
            dossiers.c.site == site, dossiers.c.external_id.is_not(None))).scalars())
    seen: set[str] = set()
    for row in rows:
        record = to_record(row)
        ref = record["MaHoSo"]

        def refuse(code: str, message: str) -> None:
            result.refused.append({"row": row["row"], "MaHoSo": ref, "code": code, "message": message})

        try:
            incoming = national.parse(record, tz=profile.tz, now=now)
        except national.BadRecord as err:
            refuse(err.code, err.message)
            continue
        if ref in seen:
            refuse("duplicate", f"'Mã hồ sơ' {ref} appears twice in the file")
            continue
        seen.add(ref)
        if incoming.procedure_code not in known_procedures:
            refuse("unknown_procedure", f"procedure {incoming.procedure_code} is not in the catalogue")
            continue
        if dry_run:
            if ref in existing:
                result.unchanged += 1
            else:
                result.created += 1
            continue
        try:
            _, created, steps = external_intake.intake(store, site, incoming, actor=ACTOR)
        except DomainError as err:
            refuse(err.code, str(err))
            continue
        if created:
            result.created += 1
        elif steps:
            result.updated += 1
        else:
            result.unchanged += 1
    return result
