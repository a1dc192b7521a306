"""A site's own settings (``sites.settings`` JSON): calendar overrides, agency code, slip wording.

Example::

    {"agency_code": "H12.34",
     "calendar": {"extra_days_off": ["2026-09-01"], "extra_working_days": ["2026-08-29"]},
     "appointment_time": "16:00",
     "result_desk": "Quầy trả kết quả số 5",
     "max_wait_minutes": 45,
     "dossier_code": "tt03", "agency_code": "000.00.12.H12",
     "cutoffs": {"2.000815": "15:00"}}

``dossier_code`` picks the code shape (``site``, the default, ``tt03`` or ``tt04`` with
``dossier_code_series``; see :mod:`server.domain.dossier_codes`). ``cutoffs`` is written by
``motcua site load`` from the ``cutoff`` key of the site file's ``[[procedures]]`` entries: a
dossier of that procedure accepted after that time counts from the next working day.

Everything is optional; a bad value is a clear error naming the key, never a silent default.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from server.domain import score766
from server.domain.calendar import WorkingCalendar
from server.domain.dossier_codes import CodeFormat, CodeShape, InvalidDossierCode
from server.domain.queue import DEFAULT_MAX_WAIT

_AGENCY = re.compile(r"[A-Za-z0-9][A-Za-z0-9.]*")


class SiteSettingsError(ValueError):
    """The site's settings JSON is wrong; the message says which key."""


@dataclass(frozen=True)
class SiteProfile:
    id: str
    name: str
    address: str | None
    tz: ZoneInfo
    agency_code: str
    calendar: WorkingCalendar
    appointment_time: time
    result_desk: str
    score_766: dict = field(default_factory=dict)  # Decision 766 weights, see server.domain.score766
    code_format: CodeFormat = CodeFormat()
    cutoffs: dict = field(default_factory=dict)  # procedure code -> time: same-day cut-off

    def cutoff_for(self, procedure_code: str) -> time | None:
        return self.cutoffs.get(procedure_code)


def _dates(values, key: str) -> list[date]:
    if not isinstance(values, list):
        raise SiteSettingsError(f"settings.calendar.{key} must be a list of YYYY-MM-DD dates")
    try:
        return [date.fromisoformat(v) for v in values]
    except (TypeError, ValueError) as err:
        raise SiteSettingsError(f"settings.calendar.{key}: {err}") from None


def build_profile(site_id: str, name: str, address: str | None, tz_name: str, settings_json: str | None) -> SiteProfile:
    try:
        settings = json.loads(settings_json or "{}")
    except json.JSONDecodeError as err:
        raise SiteSettingsError(f"site {site_id}: settings is not JSON: {err}") from None
    cal = settings.get("calendar") or {}
    calendar = WorkingCalendar(
        extra_days_off=_dates(cal.get("extra_days_off", []), "extra_days_off"),
        extra_working_days=_dates(cal.get("extra_working_days", []), "extra_working_days"),
        tz=tz_name,
    )
    agency = settings.get("agency_code") or re.sub(r"[^A-Za-z0-9.]", "", site_id) or "SITE"
    if not _AGENCY.fullmatch(agency):
        raise SiteSettingsError(f"site {site_id}: agency_code may hold only letters, digits and dots")
    try:
        appointment = time.fromisoformat(settings.get("appointment_time", "16:00"))
    except ValueError:
        raise SiteSettingsError(f"site {site_id}: appointment_time must be HH:MM") from None
    desk = settings.get("result_desk") or "Bộ phận trả kết quả"
    try:
        weights = score766.check_weights(settings.get("score_766", {}))
    except ValueError as err:
        raise SiteSettingsError(f"site {site_id}: settings.{err}") from None
    shape = settings.get("dossier_code", CodeShape.SITE.value)
    try:
        code_format = CodeFormat(shape, agency, settings.get("dossier_code_series"))
    except InvalidDossierCode as err:
        raise SiteSettingsError(f"site {site_id}: settings.{err}") from None
    cutoffs = {code: parse_cutoff(value, f"cutoffs.{code}") for code, value in (settings.get("cutoffs") or {}).items()}
    return SiteProfile(site_id, name, address, ZoneInfo(tz_name), agency, calendar, appointment, desk, weights,
                       code_format, cutoffs)


_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def parse_cutoff(value, key: str) -> time:
    """A procedure's same-day cut-off, ``"HH:MM"`` (24-hour) and nothing else."""
    if not isinstance(value, str) or not _HHMM.fullmatch(value):
        raise SiteSettingsError(f"{key} must be a time of day written HH:MM (like \"15:00\"), not {value!r}")
    return time.fromisoformat(value)


def max_wait(settings: dict | str | None) -> timedelta | None:
    """The queue's starvation limit: ``max_wait_minutes`` (default 60; 0 turns the rule off).

    A ticket that has waited longer is called ahead of a counter's service preference
    (:func:`server.domain.queue.sort_key`).
    """
    if isinstance(settings, str) or settings is None:
        try:
            settings = json.loads(settings or "{}")
        except json.JSONDecodeError as err:
            raise SiteSettingsError(f"settings is not JSON: {err}") from None
    if not isinstance(settings, dict):
        raise SiteSettingsError("settings must be a table of keys")
    value = settings.get("max_wait_minutes")
    if value is None:
        return DEFAULT_MAX_WAIT
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 24 * 60:
        raise SiteSettingsError(
            f"settings.max_wait_minutes must be a whole number of minutes from 0 (off) to 1440, not {value!r}"
        )
    return timedelta(minutes=value) if value else None


def notify_ahead(settings: dict | str | None, default: int) -> int:
    """The site's n (``notify_ahead`` in its settings; 0 = off), else the server's default."""
    if isinstance(settings, str) or settings is None:
        try:
            settings = json.loads(settings or "{}")
        except json.JSONDecodeError as err:
            raise SiteSettingsError(f"settings is not JSON: {err}") from None
    value = settings.get("notify_ahead") if isinstance(settings, dict) else None
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 50:
        raise SiteSettingsError(f"settings.notify_ahead must be a whole number from 0 (off) to 50, not {value!r}")
    return value
