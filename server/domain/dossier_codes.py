"""Dossier codes (mã hồ sơ): the site's historical shape and the two legal shapes of 2025.

Three shapes, chosen per site (site settings ``dossier_code``):

* ``site`` (the default, what every site printed before): ``<agency code>-YYMMDD-XXXX``, e.g.
  ``H12.34-251122-0007``; the agency code is any run of letters, digits and dots.
* ``tt03`` — Thông tư 03/2025/TT-VPCP: ``V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX``, the unit code
  (``V1V2V3.Z1Z2.Y1Y2.MX1X2``, e.g. ``000.00.12.H12``), the day of acceptance, the daily sequence.
* ``tt04`` — Thông tư 04/2025 shape: ``MX1X2.Y1Y2Y3.Z1Z2-YYMMDD-AAXXXX``, the unit code
  (``MX1X2.Y1Y2Y3.Z1Z2``, e.g. ``H12.123.45``), the day, a two-character series ``AA`` set by
  the site (``dossier_code_series``) and the daily sequence.

``XXXX`` is the site's gapless sequence of the day (storage hands it out with one
``UPDATE … RETURNING``). It is written with at least four digits and *widens* past 9999
(``…-10000``) rather than wrapping, so a code is never given twice; parsing accepts four digits
or more, without a leading zero beyond the fourth digit so that each number has one spelling.
Only letters, digits, dots and hyphens appear, so a code is safe in URLs and MQTT topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from .errors import DomainError


class InvalidDossierCode(DomainError, ValueError):
    code = "invalid_dossier_code"
    kind = "invalid"

    @property
    def translation_key(self) -> str:
        return f"dossier.error.{self.code}"


class CodeShape(StrEnum):
    SITE = "site"
    TT03 = "tt03"
    TT04 = "tt04"


_UNIT = {
    CodeShape.SITE: re.compile(r"[A-Za-z0-9][A-Za-z0-9.]*"),
    CodeShape.TT03: re.compile(r"[A-Z0-9]{3}\.[A-Z0-9]{2}\.[A-Z0-9]{2}\.[A-Z][0-9]{2}"),
    CodeShape.TT04: re.compile(r"[A-Z][0-9]{2}\.[A-Z0-9]{3}\.[A-Z0-9]{2}"),
}
UNIT_EXAMPLE = {CodeShape.SITE: "H12.34", CodeShape.TT03: "000.00.12.H12", CodeShape.TT04: "H12.123.45"}
_SERIES = re.compile(r"[A-Z0-9]{2}")
_SEQUENCE = r"(?:\d{4}|[1-9]\d{4,})"
_PARSE = {
    CodeShape.SITE: re.compile(rf"(?P<unit>[A-Za-z0-9][A-Za-z0-9.]*)-(?P<day>\d{{6}})-(?P<n>{_SEQUENCE})"),
    CodeShape.TT03: re.compile(
        rf"(?P<unit>[A-Z0-9]{{3}}\.[A-Z0-9]{{2}}\.[A-Z0-9]{{2}}\.[A-Z][0-9]{{2}})-(?P<day>\d{{6}})-(?P<n>{_SEQUENCE})"),
    CodeShape.TT04: re.compile(
        rf"(?P<unit>[A-Z][0-9]{{2}}\.[A-Z0-9]{{3}}\.[A-Z0-9]{{2}})-(?P<day>\d{{6}})-(?P<series>[A-Z0-9]{{2}})"
        rf"(?P<n>{_SEQUENCE})"),
}


@dataclass(frozen=True, slots=True)
class CodeFormat:
    """How one site writes its codes: the shape, its unit code and (``tt04``) its series."""

    shape: CodeShape = CodeShape.SITE
    unit: str = "SITE"
    series: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", check_format(self.shape, self.unit, self.series))

    def format(self, day: date, n: int) -> str:
        return format_code(self, day, n)


@dataclass(frozen=True, slots=True)
class ParsedCode:
    shape: CodeShape
    unit: str
    day: date
    n: int
    series: str | None = None


def check_format(shape: CodeShape | str, unit: str, series: str | None) -> CodeShape:
    """Raise :class:`InvalidDossierCode` saying what is wrong with a site's choice."""
    try:
        shape = CodeShape(shape)
    except ValueError:
        raise InvalidDossierCode(
            f"dossier_code must be one of {', '.join(s.value for s in CodeShape)}, not {shape!r}") from None
    if not isinstance(unit, str) or not _UNIT[shape].fullmatch(unit):
        raise InvalidDossierCode(
            f"agency_code {unit!r} does not fit the {shape.value} shape (like {UNIT_EXAMPLE[shape]})")
    if shape is CodeShape.TT04:
        if not isinstance(series, str) or not _SERIES.fullmatch(series):
            raise InvalidDossierCode(
                f"dossier_code_series must be two capital letters or digits (the AA of AAXXXX), not {series!r}")
    elif series is not None:
        raise InvalidDossierCode("dossier_code_series is used only by the tt04 shape")
    return shape


def format_code(fmt: CodeFormat, day: date, n: int) -> str:
    if isinstance(day, datetime):
        raise TypeError("pass the local day of acceptance, not a datetime")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidDossierCode(f"daily sequence {n!r} must be a whole number from 1")
    tail = f"{fmt.series}{n:04d}" if fmt.shape is CodeShape.TT04 else f"{n:04d}"
    return f"{fmt.unit}-{day:%y%m%d}-{tail}"


def parse_code(code: str, shape: CodeShape | str | None = None) -> ParsedCode:
    """Read a code back. With ``shape`` only that shape is accepted; without, the legal shapes are
    tried first (their unit codes are strict), then the site shape."""
    shapes = [CodeShape(shape)] if shape is not None else [CodeShape.TT04, CodeShape.TT03, CodeShape.SITE]
    text = code.strip() if isinstance(code, str) else ""
    for candidate in shapes:
        match = _PARSE[candidate].fullmatch(text)
        if not match:
            continue
        try:
            day = datetime.strptime(match["day"], "%y%m%d").date()
        except ValueError:
            raise InvalidDossierCode(f"{code!r} has no valid date") from None
        n = int(match["n"])
        if n == 0:
            raise InvalidDossierCode(f"{code!r} has sequence 0")
        return ParsedCode(candidate, match["unit"], day, n, match.groupdict().get("series"))
    raise InvalidDossierCode(f"{code!r} is not a dossier code like H12.34-251122-0007, "
                             "000.00.12.H12-251122-0007 or H12.123.45-251122-010007")
