"""The dossier lifecycle: statuses, allowed changes, due dates, timeliness and apology slips.

A dossier (hồ sơ) is one application for one administrative procedure. Every status change goes
through ``change_status``, which checks it against ``ALLOWED_TRANSITIONS``, keeps who/when/why as
an immutable ``StatusChange`` and keeps the due date right (a supplement wait does not count).
Storage loads a ``Dossier``, calls a function here and writes back what changed.

Statuses carry the national sync codes of the National Public Service Portal, so the upward
sync is a lookup, not a second state machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType

from .calendar import Pause, Timeliness, WorkingCalendar, classify
from .dossier_codes import CodeFormat, CodeShape, format_code, parse_code
from .dossier_codes import InvalidDossierCode as InvalidDossierCode  # re-exported: callers import it from here
from .errors import DomainError
from .errors import InvalidTransition as _AnyInvalidTransition


class DossierStatus(StrEnum):
    SUBMITTED = "submitted"
    RECEIVED = "received"
    REFUSED = "refused"
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    FEE_DUE = "fee_due"
    WITHDRAWN = "withdrawn"
    PAUSED = "paused"
    RESOLVED = "resolved"
    RETURNED = "returned"

    @property
    def national_code(self) -> int:
        return STATUS_INFO[self].national_code

    @property
    def label_vi(self) -> str:
        return STATUS_INFO[self].label_vi

    @property
    def label_en(self) -> str:
        return STATUS_INFO[self].label_en


class Channel(StrEnum):
    DIRECT = "direct"  # at the counter
    ONLINE = "online"  # through the public service portal; must be accepted first
    POSTAL = "postal"  # by post (bưu chính công ích)


@dataclass(frozen=True, slots=True)
class StatusInfo:
    national_code: int
    label_vi: str  # the portal's own wording, so citizens see the same words everywhere
    label_en: str


_S = DossierStatus
STATUS_INFO: Mapping[DossierStatus, StatusInfo] = MappingProxyType({
    _S.SUBMITTED: StatusInfo(1, "Mới đăng ký", "Submitted online"),
    _S.RECEIVED: StatusInfo(2, "Được tiếp nhận", "Received"),
    _S.REFUSED: StatusInfo(3, "Không được tiếp nhận", "Not accepted"),
    _S.PROCESSING: StatusInfo(4, "Đang xử lý", "Processing"),
    _S.SUPPLEMENT_REQUESTED: StatusInfo(5, "Yêu cầu bổ sung giấy tờ", "Additional documents needed"),
    _S.FEE_DUE: StatusInfo(6, "Yêu cầu thực hiện nghĩa vụ tài chính", "Fees or taxes due"),
    _S.WITHDRAWN: StatusInfo(7, "Công dân yêu cầu rút hồ sơ", "Withdrawn by the applicant"),
    _S.PAUSED: StatusInfo(8, "Dừng xử lý", "Processing stopped"),
    _S.RESOLVED: StatusInfo(9, "Đã xử lý xong", "Result ready"),
    _S.RETURNED: StatusInfo(10, "Đã trả kết quả", "Result returned"),
})

ALLOWED_TRANSITIONS: Mapping[DossierStatus, frozenset[DossierStatus]] = MappingProxyType({
    # An applicant may cancel an online application before anyone accepts it.
    _S.SUBMITTED: frozenset({_S.RECEIVED, _S.REFUSED, _S.WITHDRAWN}),
    # Refusal from "received" as from "processing": an ineligible dossier found before anyone
    # formally started on it should not need a detour through "processing".
    _S.RECEIVED: frozenset({
        _S.PROCESSING, _S.SUPPLEMENT_REQUESTED, _S.FEE_DUE, _S.WITHDRAWN, _S.RESOLVED, _S.PAUSED,
        _S.REFUSED,
    }),
    _S.PROCESSING: frozenset({
        _S.SUPPLEMENT_REQUESTED, _S.FEE_DUE, _S.PAUSED, _S.RESOLVED, _S.WITHDRAWN, _S.REFUSED,
    }),
    _S.SUPPLEMENT_REQUESTED: frozenset({_S.PROCESSING, _S.WITHDRAWN, _S.REFUSED}),
    _S.FEE_DUE: frozenset({_S.PROCESSING, _S.RESOLVED, _S.WITHDRAWN}),
    _S.PAUSED: frozenset({_S.PROCESSING, _S.WITHDRAWN}),
    _S.RESOLVED: frozenset({_S.RETURNED}),
    _S.RETURNED: frozenset(),
    _S.WITHDRAWN: frozenset(),
    _S.REFUSED: frozenset(),
})
FINAL_STATUSES = frozenset(s for s, targets in ALLOWED_TRANSITIONS.items() if not targets)
NOTE_REQUIRED = frozenset({_S.REFUSED, _S.WITHDRAWN, _S.SUPPLEMENT_REQUESTED, _S.PAUSED})
"""Changes that must say why in the (internal) note; the tracking page shows the public note or
the status's standard sentence, never the internal note."""
CLOCK_STOPPING = frozenset({_S.SUPPLEMENT_REQUESTED})
"""Statuses whose time does not count towards the due date. Only the supplement wait (design);
"paused" keeps the clock running because the stop is the agency's own decision."""
OPEN_STATUSES = frozenset({_S.RECEIVED, _S.PROCESSING, _S.SUPPLEMENT_REQUESTED, _S.FEE_DUE, _S.PAUSED})
"""Accepted and not yet resolved: these are "in progress" (within / past due) in reports."""


# -- errors -------------------------------------------------------------------------------------


class DossierError(DomainError):
    """A dossier rule said no. ``code`` is stable; ``translation_key`` picks the sentence shown."""

    code = "dossier_error"

    @property
    def translation_key(self) -> str:
        return f"dossier.error.{self.code}"


class InvalidTransition(DossierError, _AnyInvalidTransition):
    """The dossier's status does not allow the requested change. Also caught as the shared
    ``errors.InvalidTransition``, so adapters handle tickets and dossiers alike."""

    code = "invalid_transition"

    def __init__(self, from_status: DossierStatus, to_status: DossierStatus) -> None:
        self.from_status, self.to_status = from_status, to_status
        allowed = sorted(ALLOWED_TRANSITIONS[from_status])
        hint = f"allowed: {', '.join(allowed)}" if allowed else f"'{from_status}' is final"
        super().__init__(f"cannot change a dossier from '{from_status}' to '{to_status}' ({hint})")


class UnknownStatus(DossierError):
    code = "unknown_status"
    kind = "invalid"


class NoteRequired(DossierError):
    """The change must say why (refusal, withdrawal, supplement, stop, apology)."""

    code = "note_required"
    kind = "invalid"


class SupplementReasonRequired(DossierError):
    """A supplement was already asked for this dossier: the rule allows one request, so a second
    one must say why (``reason``); it is recorded and the dossier counts late (Decision 766, 2.1)."""

    code = "second_supplement_needs_reason"
    kind = "invalid"


class FactNotApplicable(DossierError):
    """A Decision 766 fact given with a change it does not belong to: ``paid_online`` only when the
    fee step ends, ``components_digitised`` only on acceptance, ``result_digitised`` only on
    resolving. Refused rather than dropped, so a wrong call never looks recorded."""

    code = "fact_not_applicable"
    kind = "invalid"


class OutOfOrder(DossierError):
    """A change dated before the previous one: history must read in order."""

    code = "out_of_order"
    kind = "invalid"


class BeforeIntake(OutOfOrder):
    """A change dated before the dossier was even received or submitted."""

    code = "before_intake"


class DatedInFuture(DossierError):
    """A change from another system dated later than now: it would sit at the end of the
    history and make every real change after it "out of order"."""

    code = "dated_in_future"
    kind = "invalid"


MAX_CLOCK_SKEW = timedelta(minutes=5)


def external_moment(at: datetime, now: datetime) -> datetime:
    """The moment to record for a change dated ``at`` by another system (connector, import):
    refused when later than ``now`` by more than a clock's usual skew, and never later than
    ``now``, so the official's own change made right after can never be "out of order"."""
    if at.tzinfo is None:
        raise ValueError("a moment from another system needs its UTC offset")
    if at > now + MAX_CLOCK_SKEW:
        raise DatedInFuture(f"the change is dated {at.isoformat()}, later than now ({now.isoformat()})")
    return min(at, now)


class ApologyNotDue(DossierError):
    code = "apology_not_due"


class InvalidAppointment(DossierError):
    code = "invalid_appointment"
    kind = "invalid"


# -- records ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One line of a dossier's history. ``from_status`` is None for the opening entry.
    ``note`` is internal (officials only); ``public_note`` is the part meant for the citizen."""

    from_status: DossierStatus | None
    to_status: DossierStatus
    by: str
    at: datetime
    note: str | None = None
    public_note: str | None = None
    reason: str | None = None  # why a supplement is asked a second time (only then)
    # Decision 766 facts the official states at the counter (None: not said):
    paid_online: bool | None = None  # the fee step ended: paid online (3.6), only on leaving fee_due
    components_digitised: bool | None = None  # accepted with its components digitised (4.2), only on received
    result_digitised: bool | None = None  # the result was digitised (4.1), only on resolved


@dataclass(frozen=True, slots=True)
class ApologySlip:
    """What a Mẫu 04 ("Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết") prints."""

    dossier_code: str
    due_date: date
    new_date: date
    issued_at: datetime
    by: str
    reason: str


@dataclass(slots=True)
class Dossier:
    """One application. ``due_date`` is the legal due date (what reports judge by); after an
    apology the citizen is promised ``promised_date`` instead. Mutated only through this module."""

    code: str
    procedure_code: str
    legal_days: int
    channel: Channel
    status: DossierStatus
    submitted_at: datetime | None = None
    received_at: datetime | None = None
    due_date: date | None = None
    resolved_at: datetime | None = None
    returned_at: datetime | None = None
    history: tuple[StatusChange, ...] = ()
    apologies: tuple[ApologySlip, ...] = ()
    cutoff: time | None = None
    """The procedure's same-day cut-off when the dossier was opened (None: none)."""

    @property
    def promised_date(self) -> date | None:
        return self.apologies[-1].new_date if self.apologies else self.due_date


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def _require_actor(by: str) -> str:
    if not by or not by.strip():
        raise ValueError("every change needs who made it (by)")
    return by


def open_dossier(
    code: str,
    procedure_code: str,
    legal_days: int,
    channel: Channel | str,
    *,
    by: str,
    at: datetime,
    calendar: WorkingCalendar,
    note: str | None = None,
    cutoff: time | None = None,
    components_digitised: bool | None = None,
) -> Dossier:
    """Start a dossier's life. Counter and postal dossiers are received on the spot and get a
    due date at once; online ones start as "submitted" and are dated when an official accepts
    (``components_digitised`` is then said on acceptance, not here)."""
    if legal_days < 0:
        raise ValueError("legal_days must be >= 0")
    channel = Channel(channel)
    when = calendar.to_local(at)
    status = _S.SUBMITTED if channel is Channel.ONLINE else _S.RECEIVED
    if status is _S.SUBMITTED and components_digitised is not None:
        raise FactNotApplicable("an online dossier's components are declared digitised when it is accepted")
    dossier = Dossier(code, procedure_code, legal_days, channel, status, cutoff=cutoff)
    if status is _S.SUBMITTED:
        dossier.submitted_at = when
    else:
        dossier.received_at = when
        dossier.due_date = calendar.due_date(when, legal_days, cutoff)
    dossier.history = (StatusChange(None, status, _require_actor(by), when, _clean(note),
                                    components_digitised=components_digitised),)
    return dossier


def change_status(
    dossier: Dossier,
    new_status: DossierStatus | str,
    *,
    by: str,
    at: datetime,
    note: str | None = None,
    calendar: WorkingCalendar,
    public_note: str | None = None,
    reason: str | None = None,
    paid_online: bool | None = None,
    components_digitised: bool | None = None,
    result_digitised: bool | None = None,
) -> StatusChange:
    """Move ``dossier`` to ``new_status`` and return the history entry written.

    Checks everything before changing anything, so a refused change leaves the dossier as it
    was. The calendar is the site's (its own days off move due dates), hence required.
    """
    try:
        target = DossierStatus(new_status)
    except ValueError:
        valid = ", ".join(s.value for s in DossierStatus)
        raise UnknownStatus(f"unknown dossier status {new_status!r}; valid statuses: {valid}") from None
    current = dossier.status
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(current, target)
    note = _clean(note)
    if target in NOTE_REQUIRED and note is None:
        raise NoteRequired(f"changing a dossier to '{target}' needs a note saying why")
    reason = _clean(reason)
    if target is _S.SUPPLEMENT_REQUESTED and supplement_requests(dossier) >= 1:
        if reason is None:
            raise SupplementReasonRequired(
                f"a supplement was already asked for {dossier.code}; the rules allow one request, so a "
                "second one needs a reason (it is recorded and the dossier counts late)")
    else:
        reason = None  # a reason belongs only to a repeated supplement request
    if paid_online is not None and not (current is _S.FEE_DUE and target in (_S.PROCESSING, _S.RESOLVED)):
        raise FactNotApplicable("paid_online is said when the fee step ends (from fee_due to processing or "
                                "resolved)")
    if components_digitised is not None and target is not _S.RECEIVED:
        raise FactNotApplicable("components_digitised is said when the dossier is received")
    if result_digitised is not None and target is not _S.RESOLVED:
        raise FactNotApplicable("result_digitised is said when the dossier is resolved")
    when = calendar.to_local(at)
    if dossier.history and when < dossier.history[0].at:
        raise BeforeIntake(f"{when.isoformat()} is before {dossier.code} was received "
                           f"({calendar.to_local(dossier.history[0].at).isoformat()})")
    if dossier.history and when < dossier.history[-1].at:
        raise OutOfOrder(f"{when.isoformat()} is before the last change of {dossier.code}")

    change = StatusChange(current, target, _require_actor(by), when, note, _clean(public_note), reason,
                          paid_online, components_digitised, result_digitised)
    dossier.history = (*dossier.history, change)
    dossier.status = target
    if target is _S.RECEIVED:
        dossier.received_at = when
        dossier.due_date = calendar.due_date(when, dossier.legal_days, dossier.cutoff)
    if current in CLOCK_STOPPING:
        # Recomputed from the whole history rather than nudged, so it can never drift.
        dossier.due_date = calendar.shifted_due_date(
            dossier.received_at, dossier.legal_days, pauses(dossier), dossier.cutoff
        )
    if target is _S.RESOLVED:
        dossier.resolved_at = when
    elif target is _S.RETURNED:
        dossier.returned_at = when
    return change


def supplement_requests(dossier: Dossier) -> int:
    """How many times a supplement was asked (Mẫu 02). The rules allow one; more counts late."""
    return sum(1 for c in dossier.history if c.to_status is _S.SUPPLEMENT_REQUESTED)


def counts_late(dossier: Dossier) -> bool:
    """True when a supplement was asked more than once: such a dossier counts late for Decision
    766 sub-index 2.1 whatever its dates (the period report's "resolved late" stays by date)."""
    return supplement_requests(dossier) > 1


def pauses(dossier: Dossier, *, until: datetime | None = None) -> list[Pause]:
    """The clock-stopping stretches in the history. A stretch still open is closed at ``until``
    when given (for a provisional due date), else left out."""
    found: list[Pause] = []
    started: datetime | None = None
    for change in dossier.history:
        if change.from_status in CLOCK_STOPPING and started is not None:
            found.append(Pause(started, change.at))
            started = None
        if change.to_status in CLOCK_STOPPING:
            started = change.at
    if started is not None and until is not None:
        found.append(Pause(started, max(started, until)))
    return found


def current_due_date(dossier: Dossier, *, today: date, calendar: WorkingCalendar) -> date | None:
    """The due date as of ``today``. While a supplement is awaited the clock is stopped, so the
    wait so far (up to and including today) is added provisionally: a dossier cannot fall
    past due while the ball is in the citizen's court."""
    if dossier.due_date is None or dossier.status not in CLOCK_STOPPING:
        return dossier.due_date
    end_of_today = datetime.combine(today, time(23, 59), tzinfo=calendar.tz)
    return calendar.shifted_due_date(
        dossier.received_at, dossier.legal_days, pauses(dossier, until=end_of_today), dossier.cutoff
    )


def timeliness(dossier: Dossier, *, today: date, calendar: WorkingCalendar) -> Timeliness | None:
    """ahead / on_time / late for resolved dossiers, within / past_due for open ones, None for
    dossiers never accepted or closed without a result (submitted, refused, withdrawn)."""
    if dossier.resolved_at is not None:
        return classify(dossier.due_date, calendar.local_date(dossier.resolved_at))
    if dossier.status in OPEN_STATUSES:
        return classify(current_due_date(dossier, today=today, calendar=calendar), today=today)
    return None


def apology_due(dossier: Dossier, *, today: date, calendar: WorkingCalendar) -> bool:
    """True when an open dossier has passed the date promised to the citizen (the legal due
    date, or the new date of the last apology) and so needs a Mẫu 04 apology slip."""
    if dossier.status not in OPEN_STATUSES:
        return False
    promised = current_due_date(dossier, today=today, calendar=calendar)
    if dossier.apologies:
        promised = max(promised, dossier.apologies[-1].new_date)
    return today > promised


def issue_apology(
    dossier: Dossier,
    new_date: date,
    *,
    by: str,
    at: datetime,
    reason: str,
    calendar: WorkingCalendar,
) -> ApologySlip:
    """Record a Mẫu 04 apology with the new appointment the official chose.

    The new date must be a working day after today (an appointment on a holiday, or one already
    passed, would be a second broken promise). The legal ``due_date`` is kept: the dossier still
    counts as late in reports.
    """
    when = calendar.to_local(at)
    today = when.date()
    if not apology_due(dossier, today=today, calendar=calendar):
        raise ApologyNotDue(f"dossier {dossier.code} is not past its promised date")
    if isinstance(new_date, datetime) or new_date <= today:
        raise InvalidAppointment(f"the new date must be a day after {today.isoformat()}")
    if not calendar.is_working_day(new_date):
        raise InvalidAppointment(f"{new_date.isoformat()} is not a working day")
    reason = _clean(reason)
    if reason is None:
        raise NoteRequired("an apology slip must give the reason for the delay")
    slip = ApologySlip(dossier.code, dossier.due_date, new_date, when, _require_actor(by), reason)
    dossier.apologies = (*dossier.apologies, slip)
    return slip


# -- codes --------------------------------------------------------------------------------------


def format_dossier_code(site_code: str, day: date, n: int, fmt: CodeFormat | None = None) -> str:
    """``<site code>-<yymmdd>-<nnnn>``, e.g. ``H12.34-251122-0007`` (the ``site`` shape), or the
    shape ``fmt`` says (see :mod:`server.domain.dossier_codes`).

    ``day`` is the local day of acceptance (submission for online dossiers); ``n`` is the daily
    sequence from 1, written with at least four digits and widening past 9999, never wrapping.
    """
    fmt = fmt or CodeFormat(CodeShape.SITE, site_code)
    return format_code(fmt, day, n)


def parse_dossier_code(code: str, shape: CodeShape | str | None = None) -> tuple[str, date, int]:
    """The inverse of ``format_dossier_code``: (unit code, day, sequence), any shape."""
    parsed = parse_code(code, shape)
    return parsed.unit, parsed.day, parsed.n
