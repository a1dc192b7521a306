"""What a dossier's dated history says to the period reports: its *flows* and its *spans*.

The official period convention (carried over + newly received = to handle; resolved in the
period whatever its receipt date; open at the period's end) needs two kinds of fact, both read
off the dated history (``Dossier.history``, ``Dossier.apologies``) and nothing else:

* **flows** — things that happen on a day and stay happened: accepted (by acceptance date, not
  submission), resolved ahead / on time / late (judged against the due date in force that day),
  withdrawn or refused after acceptance, refused or cancelled before acceptance, a supplement
  requested, a Mẫu 04 apology issued, an online submission. A period adds up its days' flows.
* **spans** — stretches of days over which the dossier stood still for the reports: waiting for
  acceptance, open with the clock running (and a fixed due date), waiting for a supplement (clock
  stopped since a day), or stopped by the agency ("Dừng xử lý"). A span ``[start_on, end_on)``
  holds at the *end* of each day from ``start_on`` to the day before ``end_on``; a change makes
  the next span start on its day, so several changes on one day leave the day's last state.
  ``end_on`` is None while the span lasts. Stocks ("carried over", "open at the end") are the
  spans that hold on a day.

Because a history only grows at its end (a change dated before the last one is refused) and a
span is closed on the day of the change that ends it, a day once past keeps its flows and its
spans: a closed period never changes. Both are computed by replaying the history through the
domain's own rules, so due dates here are those the dossier had on each day.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date

from .calendar import Timeliness, WorkingCalendar, classify
from .dossiers import Dossier, DossierStatus, change_status, open_dossier

_S = DossierStatus

# span states
SUBMITTED, OPEN, SUPPLEMENT, STOPPED = "submitted", "open", "supplement", "stopped"
SPAN_STATES = (SUBMITTED, OPEN, SUPPLEMENT, STOPPED)
_STATE = {_S.SUBMITTED: SUBMITTED, _S.RECEIVED: OPEN, _S.PROCESSING: OPEN, _S.FEE_DUE: OPEN,
          _S.SUPPLEMENT_REQUESTED: SUPPLEMENT, _S.PAUSED: STOPPED}

# flow kinds
FLOW_KINDS = (
    "submitted",  # an online dossier arrived from the portal (not yet accepted)
    "received",  # accepted (direct and postal on arrival; online when an official accepts it)
    "resolved_ahead", "resolved_on_time", "resolved_late",
    "resolved_in_time_multi_supplement",  # ahead or on time, yet a supplement was asked more than once
    "withdrawn", "refused",  # after acceptance
    "not_accepted",  # online: refused or cancelled before anyone accepted it
    "supplement_requested",  # each request (a second one on a dossier counts late for Decision 766)
    "apology",  # a Mẫu 04 issued
    # Decision 766 facts, each on the day of its change (3.6, 4.1, 4.2):
    "fee_paid", "fee_paid_online",  # the fee step ended (fee_due → processing / resolved); of which paid online
    "received_digitised",  # accepted with its components digitised
    "resolved_result_digitised",  # resolved with its result digitised
)


@dataclass(frozen=True, slots=True)
class Span:
    state: str
    start_on: date
    end_on: date | None
    due_date: date | None  # for SUPPLEMENT: the due date when the wait began
    stopped_on: date | None  # SUPPLEMENT: the day the wait began
    supplements: int  # supplement requests so far
    official: str  # who accepted it ("" before acceptance)


@dataclass(frozen=True, slots=True)
class Flow:
    kind: str
    day: date
    official: str


def acceptor(dossier: Dossier) -> str:
    """The official a dossier belongs to in reports: who accepted it ("" if nobody yet)."""
    return _acceptor_of(dossier.history)


def ledger(dossier: Dossier, calendar: WorkingCalendar) -> tuple[list[Span], list[Flow]]:
    """The dossier's spans and flows, by replaying its history through the domain's rules."""
    spans, flows, _ = _replay(dossier, calendar)
    return spans, flows


def ledger_since(dossier: Dossier, calendar: WorkingCalendar, changes: int,
                 apologies: int) -> tuple[list[Span], list[Flow], list[Flow]]:
    """``ledger`` and the flows added since the dossier had only its first ``changes`` changes and
    ``apologies`` apologies — ``new_flows(ledger(that dossier)[1], flows)`` — from one replay.

    A change's flows depend only on the changes before it and on who accepted the dossier, so
    the earlier dossier's flows are the first changes' flows plus its apologies' flows, whenever
    it had the same acceptor (otherwise it is replayed on its own)."""
    spans, flows, marks = _replay(dossier, calendar)
    if changes == 0:
        return spans, flows, list(flows)
    if acceptor(dossier) != _acceptor_of(dossier.history[:changes]):
        before = ledger(replace(dossier, history=dossier.history[:changes], apologies=dossier.apologies[:apologies]),
                        calendar)[1]
        return spans, flows, new_flows(before, flows)
    history_flows = marks[-1]
    before = flows[:marks[changes - 1]] + flows[history_flows:history_flows + apologies]
    return spans, flows, new_flows(before, flows)


def _acceptor_of(history) -> str:
    for change in history:
        if change.to_status is _S.RECEIVED:
            return change.by
    return ""


def _replay(dossier: Dossier, calendar: WorkingCalendar) -> tuple[list[Span], list[Flow], list[int]]:
    """Spans, flows, and how many flows the history had given after each of its changes (the
    apologies' flows follow)."""
    history = dossier.history
    first = history[0]
    replay = open_dossier(dossier.code, dossier.procedure_code, dossier.legal_days, dossier.channel,
                          by=first.by, at=first.at, calendar=calendar, cutoff=dossier.cutoff,
                          components_digitised=first.components_digitised)
    owner = acceptor(dossier)
    spans: list[Span] = []
    flows: list[Flow] = []
    supplements = 0
    current: Span | None = None

    def after_change(status: DossierStatus, day: date) -> None:
        nonlocal current
        state = _STATE.get(status)
        if state is None:
            key = None
        elif state == SUPPLEMENT:
            key = (state, replay.due_date, day if current is None or current.state != SUPPLEMENT
                   else current.stopped_on, supplements)
        else:
            key = (state, replay.due_date if state != SUBMITTED else None, None, supplements)
        if current is not None and key == (current.state, current.due_date, current.stopped_on, current.supplements):
            return
        if current is not None:
            if current.start_on < day:
                spans.append(Span(current.state, current.start_on, day, current.due_date, current.stopped_on,
                                  current.supplements, current.official))
            current = None
        if key is not None:
            current = Span(key[0], day, None, key[1], key[2], key[3], "" if state == SUBMITTED else owner)

    day = calendar.local_date(first.at)
    if replay.status is _S.SUBMITTED:
        flows.append(Flow("submitted", day, ""))
    else:
        flows.append(Flow("received", day, owner))
        if first.components_digitised:
            flows.append(Flow("received_digitised", day, owner))
    after_change(replay.status, day)
    marks = [len(flows)]
    for change in history[1:]:
        before = replay.status
        change_status(replay, change.to_status, by=change.by, at=change.at, note=change.note or "—",
                      calendar=calendar, reason=change.reason or "—", paid_online=change.paid_online,
                      components_digitised=change.components_digitised, result_digitised=change.result_digitised)
        day = calendar.local_date(change.at)
        target = change.to_status
        if target is _S.SUPPLEMENT_REQUESTED:
            supplements += 1
            flows.append(Flow("supplement_requested", day, owner))
        if before is _S.FEE_DUE and target in (_S.PROCESSING, _S.RESOLVED):
            flows.append(Flow("fee_paid", day, owner))
            if change.paid_online:
                flows.append(Flow("fee_paid_online", day, owner))
        if target is _S.RESOLVED and change.result_digitised:
            flows.append(Flow("resolved_result_digitised", day, owner))
        if target is _S.RECEIVED:
            flows.append(Flow("received", day, owner))
            if change.components_digitised:
                flows.append(Flow("received_digitised", day, owner))
        elif before is _S.SUBMITTED:  # refused or withdrawn before acceptance
            flows.append(Flow("not_accepted", day, ""))
        elif target is _S.RESOLVED:
            timeliness = classify(replay.due_date, day)
            flows.append(Flow(f"resolved_{timeliness.value}", day, owner))
            if timeliness is not Timeliness.LATE and supplements > 1:
                flows.append(Flow("resolved_in_time_multi_supplement", day, owner))
        elif target in (_S.WITHDRAWN, _S.REFUSED):
            flows.append(Flow(target.value, day, owner))
        after_change(replay.status, day)
        marks.append(len(flows))
    if current is not None:
        spans.append(current)
    for slip in dossier.apologies:
        flows.append(Flow("apology", calendar.local_date(slip.issued_at), owner))
    return spans, flows, marks


def new_flows(before: list[Flow], after: list[Flow]) -> list[Flow]:
    """The flows a change added (a history only grows, so ``before`` is contained in ``after``)."""
    added = Counter(after)
    added.subtract(Counter(before))
    return [flow for flow, n in added.items() for _ in range(n) if n > 0]

