"""The kiosk's state and its reducer: actions in, a new state out. Pure: no I/O, no Kivy, no clock.

Screens: ``home`` → ``identify`` (optional CCCD) → ``priority`` → ``issuing`` → ``ticket`` → home;
``help`` when the server cannot be reached; ``track`` after a ticket's QR is scanned.
Time comes in with each action (``now``, monotonic seconds), so idle rules are tested exactly.

Voice mode (the "Nghe hướng dẫn" button): each screen is read aloud, and a touch on a tile or
button first *focuses* it (it is read) and a second touch on the same one chooses it. ``focus``
is the action of the control read last; it is forgotten when the screen changes. An idle reset
turns voice mode off (the next citizen starts with a silent kiosk); going home by a button keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .text import LANGS, PRIORITIES

SCREENS = ("home", "identify", "priority", "issuing", "ticket", "help", "track")
FLOW_SCREENS = ("identify", "priority")


@dataclass(frozen=True)
class Timeouts:
    """Seconds a screen stays without a touch before the kiosk goes home (and forgets the flow)."""

    idle: float = 60.0  # any flow screen, and a search left on home
    ticket: float = 12.0  # the number on screen, printed
    ticket_unprinted: float = 45.0  # long enough to photograph the number and QR
    track: float = 15.0
    help: float = 90.0


@dataclass(frozen=True)
class KioskState:
    screen: str = "home"
    lang: str = "vi"
    query: str = ""
    service: str | None = None
    procedure: str | None = None
    greeting: str | None = None  # the name on the card, shown during this flow only, never sent
    citizen: dict[str, str] | None = None  # exactly what the ticket carries: id_hash, name_masked
    notice: str | None = None  # a translation key shown as a banner (unreadable card, printer…)
    priority: str | None = None
    flow_key: str | None = None  # this citizen's idempotency key; retries reuse it
    attempts: int = 0
    ticket: dict[str, Any] | None = None
    print_problem: str | None = None  # devices error key when the ticket did not print
    track: dict[str, Any] | None = None
    last_activity: float = 0.0
    voice: bool = False  # voice mode: screens read aloud, touch once to hear, twice to choose
    focus: tuple | None = None  # in voice mode, the control touched (and read) once


# ---- actions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tick:
    now: float


@dataclass(frozen=True)
class SetLanguage:
    lang: str
    now: float


@dataclass(frozen=True)
class Search:
    query: str
    now: float


@dataclass(frozen=True)
class ChooseService:
    service: str
    flow_key: str
    now: float
    procedure: str | None = None


@dataclass(frozen=True)
class CardRead:
    greeting: str
    citizen: dict[str, str]
    now: float


@dataclass(frozen=True)
class Notice:
    key: str
    now: float


@dataclass(frozen=True)
class Continue:
    """Identify → priority (with or without a card)."""

    now: float


@dataclass(frozen=True)
class ChoosePriority:
    priority: str | None
    now: float


@dataclass(frozen=True)
class IssueFailed:
    """Every attempt with this flow's key failed: send the citizen to the reception desk."""

    now: float
    attempts: int = 1


@dataclass(frozen=True)
class Retry:
    now: float


@dataclass(frozen=True)
class TicketIssued:
    ticket: dict[str, Any]
    print_problem: str | None
    now: float
    attempts: int = 1


@dataclass(frozen=True)
class CheckedIn:
    """A booked citizen's QR or card gave a ticket: whatever the screen, the ticket is shown."""

    now: float


@dataclass(frozen=True)
class Tracked:
    info: dict[str, Any] | None
    notice: str | None
    now: float


@dataclass(frozen=True)
class GoHome:
    now: float


@dataclass(frozen=True)
class SetVoice:
    on: bool
    now: float


@dataclass(frozen=True)
class Focus:
    """Voice mode: a control was touched once (it is read; a second touch chooses it)."""

    control: tuple
    now: float


Action = (Tick | SetLanguage | Search | ChooseService | CardRead | Notice | Continue | ChoosePriority
          | IssueFailed | Retry | TicketIssued | Tracked | GoHome | SetVoice | Focus | CheckedIn)


def home(now: float) -> KioskState:
    """A fresh home screen in Vietnamese: nothing of the previous citizen survives."""
    return KioskState(last_activity=now)


def _timeout(state: KioskState, timeouts: Timeouts) -> float | None:
    if state.screen == "issuing":
        return None  # a request is in flight; its result decides
    if state.screen == "ticket":
        return timeouts.ticket_unprinted if state.print_problem else timeouts.ticket
    if state.screen == "help":
        return timeouts.help
    if state.screen == "track":
        return timeouts.track
    if state.screen == "home" and not (state.query or state.notice or state.greeting or state.lang != "vi"
                                       or state.voice):
        return None  # already at rest
    return timeouts.idle


def reduce(state: KioskState, action: Action, timeouts: Timeouts = Timeouts()) -> KioskState:
    """The next state. Actions that do not fit the current screen (a double tap) change nothing."""
    after = _reduce(state, action, timeouts)
    if after.focus is not None and (after.screen != state.screen or not after.voice):
        after = replace(after, focus=None)  # a focus belongs to one screen
    return after


def _reduce(state: KioskState, action: Action, timeouts: Timeouts) -> KioskState:
    now = action.now
    touched = replace(state, last_activity=now)
    match action:
        case Tick():
            limit = _timeout(state, timeouts)
            if limit is not None and now - state.last_activity >= limit:
                return home(now)
            return state
        case GoHome():
            return replace(home(now), voice=state.voice)  # the citizen is still there
        case SetVoice(on=on):
            return replace(touched, voice=on, focus=None)
        case Focus(control=control) if state.voice:
            return replace(touched, focus=tuple(control))
        case SetLanguage(lang=lang) if lang in LANGS:
            return replace(touched, lang=lang, focus=None)
        case Search(query=query) if state.screen == "home":
            return replace(touched, query=query, notice=None)
        case ChooseService() if state.screen == "home":
            return replace(touched, screen="identify", service=action.service, procedure=action.procedure,
                           flow_key=action.flow_key, query="", notice=None)
        case CardRead() if state.screen in ("home", "identify"):
            return replace(touched, greeting=action.greeting, citizen=dict(action.citizen), notice=None)
        case Notice():
            return replace(touched, notice=action.key)
        case Continue() if state.screen == "identify":
            return replace(touched, screen="priority", notice=None)
        case ChoosePriority() if state.screen == "priority" and (action.priority in PRIORITIES
                                                                  or action.priority is None):
            return replace(touched, screen="issuing", priority=action.priority, notice=None)
        case IssueFailed() if state.screen == "issuing":
            return replace(touched, screen="help", attempts=state.attempts + action.attempts)
        case Retry() if state.screen == "help":
            return replace(touched, screen="issuing")
        case CheckedIn():
            return replace(home(now), lang=state.lang, voice=state.voice, screen="issuing")
        case TicketIssued() if state.screen == "issuing":
            # The name read from the card leaves the screen with the ticket.
            return replace(touched, screen="ticket", ticket=dict(action.ticket), greeting=None,
                           print_problem=action.print_problem, attempts=state.attempts + action.attempts,
                           notice=action.print_problem)
        case Tracked() if state.screen in ("home", "track", "identify", "priority"):
            # A ticket's QR interrupts nothing important; the current flow is dropped.
            return replace(home(now), lang=state.lang, voice=state.voice, screen="track", track=action.info,
                           notice=action.notice)
    return state


@dataclass
class Store:
    """Holds the state, runs the reducer, tells listeners. Single-threaded by contract."""

    timeouts: Timeouts = field(default_factory=Timeouts)
    state: KioskState = field(default_factory=KioskState)
    listeners: list = field(default_factory=list)

    def dispatch(self, action: Action) -> KioskState:
        before = self.state
        self.state = reduce(before, action, self.timeouts)
        if self.state != before:
            for listener in list(self.listeners):
                listener(self.state)
        return self.state
