"""The kiosk's view-model: citizen intents in, effects (server, printer, MQTT, voice) out.

Plain Python, no Kivy: tests drive it exactly as the screens do. Slow work (HTTP with retries,
printing) goes through ``run(job, done)``: the default runs it at once (tests); the app runs the
job on a worker thread and ``done`` back on the UI thread. State changes only in ``done``.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from devices.cccd import CardScanned, ScanEvent, ScanRejected, TextScanned, classify_scan
from devices.errors import DeviceError
from devices.layout import TicketView

from . import state as st
from .client import KioskClient, ServerError, ServerUnreachable, TrackUnavailable
from .text import fold

log = logging.getLogger(__name__)

TRACK_URL = re.compile(r"/t/([A-Za-z0-9_-]{8,100})/?$")
APPOINTMENT_URL = re.compile(r"/a/([A-Za-z0-9_-]{8,64})/?$")
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
RECENT_TICKETS = 500


class Printer(Protocol):
    def print_ticket(self, view: TicketView) -> int: ...


class StatusSink(Protocol):
    def printer(self, ok: bool, detail: str) -> None: ...


def run_now(job: Callable[[], Any], done: Callable[[Any], None]) -> None:
    done(job())


@dataclass(frozen=True)
class SearchHit:
    service: str
    procedure: str | None
    name_vi: str
    name_en: str


@dataclass(frozen=True)
class IssueOutcome:
    ticket: dict[str, Any] | None
    attempts: int
    print_problem: str | None = None
    error: str | None = None


def track_token(text: str) -> str | None:
    """``https://host/t/TOKEN`` (a ticket's or slip's QR) → ``TOKEN``."""
    match = TRACK_URL.search(text.strip().split("?")[0].split("#")[0])
    return match.group(1) if match else None


def appointment_token(text: str) -> str | None:
    """``https://host/a/TOKEN`` (an appointment's confirmation QR) → ``TOKEN``."""
    match = APPOINTMENT_URL.search(text.strip().split("?")[0].split("#")[0])
    return match.group(1) if match else None


class KioskController:
    """Everything a kiosk screen can ask for. Construction does no I/O; call :meth:`start`."""

    def __init__(self, client: KioskClient, printer: Printer | None, *, id_key: bytes,
                 status: StatusSink | None = None,
                 run: Callable = run_now, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, retry_delays: Sequence[float] = (0.5, 1.0, 2.0),
                 timeouts: st.Timeouts = st.Timeouts(), new_key: Callable[[], str] | None = None) -> None:
        if not id_key:
            raise ValueError("the kiosk needs a non-empty key to hash ID numbers")
        self.client = client
        self.printer = printer
        self.id_key = id_key
        self.status = status
        self.run = run
        self.clock = clock
        self.sleep = sleep
        self.retry_delays = tuple(retry_delays)
        self.new_key = new_key or (lambda: "k-" + secrets.token_urlsafe(12))
        self.store = st.Store(timeouts=timeouts, state=st.home(clock()))
        self.menu: dict[str, Any] = {"site": {}, "services": []}
        self.menu_error: str | None = None
        self._recent: OrderedDict[str, str] = OrderedDict()  # token → number, for the track fallback
        self._printer_reported: tuple[bool, str] | None = None

    # ---- life cycle --------------------------------------------------------------------------
    @property
    def state(self) -> st.KioskState:
        return self.store.state

    def subscribe(self, listener: Callable[[st.KioskState], None]) -> None:
        self.store.listeners.append(listener)

    def start(self) -> None:
        """Load the menu and check the printer; both failures leave the kiosk usable."""
        self.refresh_menu()
        opener = getattr(self.printer, "open", None)
        if opener is not None:
            try:
                opener()
                self._report_printer(None)
            except DeviceError as err:
                log.warning("printer: %s", err)
                self._report_printer(err)

    def refresh_menu(self) -> bool:
        try:
            self.menu = self.client.services()
            self.menu_error = None
            return True
        except ServerError as err:
            log.warning("cannot load the menu: %s", err)
            self.menu_error = err.code
            return False

    def _dispatch(self, action: st.Action) -> st.KioskState:
        return self.store.dispatch(action)

    # ---- menu and search ---------------------------------------------------------------------
    @property
    def services(self) -> list[dict[str, Any]]:
        return list(self.menu.get("services", []))

    @property
    def centre(self) -> str:
        return self.menu.get("site", {}).get("name", "")

    def service(self, service_id: str | None) -> dict[str, Any] | None:
        return next((s for s in self.services if s["id"] == service_id), None)

    def search_hits(self, query: str | None = None, limit: int = 8) -> list[SearchHit]:
        """Procedures (and services) whose name contains every folded word of the query."""
        words = fold(self.state.query if query is None else query).split()
        if not words:
            return []
        hits: list[SearchHit] = []
        for svc in self.services:
            if all(w in fold(f"{svc['name_vi']} {svc.get('name_en') or ''}") for w in words):
                hits.append(SearchHit(svc["id"], None, svc["name_vi"], svc.get("name_en") or svc["name_vi"]))
            for proc in svc.get("procedures", []):
                names = fold(f"{proc['name_vi']} {proc.get('name_en') or ''} {proc['code']}")
                if all(w in names for w in words):
                    hits.append(SearchHit(svc["id"], proc["code"], proc["name_vi"],
                                          proc.get("name_en") or proc["name_vi"]))
        return hits[:limit]

    # ---- citizen intents ----------------------------------------------------------------------
    def set_language(self, lang: str) -> None:
        self._dispatch(st.SetLanguage(lang, self.clock()))

    def toggle_language(self) -> None:
        self.set_language("en" if self.state.lang == "vi" else "vi")

    def search(self, query: str) -> None:
        self._dispatch(st.Search(query, self.clock()))

    def choose_service(self, service_id: str, procedure: str | None = None) -> None:
        if self.service(service_id) is None:
            return
        self._dispatch(st.ChooseService(service_id, self.new_key(), self.clock(), procedure))

    def skip_identify(self) -> None:
        self._dispatch(st.Continue(self.clock()))

    continue_ = skip_identify

    def choose_priority(self, priority: str | None) -> None:
        """Issue the ticket. A second tap while issuing finds the screen changed and does nothing."""
        before = self.state.screen
        if self._dispatch(st.ChoosePriority(priority, self.clock())).screen == "issuing" and before == "priority":
            self._issue()

    def retry(self) -> None:
        before = self.state.screen
        if self._dispatch(st.Retry(self.clock())).screen == "issuing" and before == "help":
            self._issue()

    def go_home(self) -> None:
        self._dispatch(st.GoHome(self.clock()))

    # ---- voice mode: touch once to hear, twice to choose ---------------------------------------
    def toggle_voice(self) -> None:
        """The "Nghe hướng dẫn" button: voice mode on (the screen is read) or off (silence)."""
        self._dispatch(st.SetVoice(not self.state.voice, self.clock()))

    def press(self, control: tuple) -> None:
        """A touch on a tile or button. In voice mode the first touch only focuses (reads) it."""
        control = tuple(control)
        if self.state.voice and self.state.focus != control:
            self._dispatch(st.Focus(control, self.clock()))
            return
        self.perform(control)

    def perform(self, control: tuple) -> None:
        """Do what a control means: ``("service", id, procedure)``, ``("priority", p)``, ``("nav", what)``."""
        kind, *args = control
        if kind == "service":
            self.choose_service(args[0], args[1] if len(args) > 1 else None)
        elif kind == "priority":
            self.choose_priority(args[0])
        elif kind == "nav":
            {"continue": self.continue_, "home": self.go_home, "done": self.go_home, "retry": self.retry,
             "language": self.toggle_language}[args[0]]()

    def touch(self) -> None:
        """Any touch keeps the current screen alive."""
        self.store.state = replace(self.state, last_activity=self.clock())

    def tick(self) -> None:
        self._dispatch(st.Tick(self.clock()))

    # ---- scans from the reader (CCCD or a ticket's QR) -----------------------------------------
    def scan_text(self, text: str) -> None:
        event = classify_scan(text)
        if event is not None:
            self.scan(event)

    def scan(self, event: ScanEvent) -> None:
        now = self.clock()
        screen = self.state.screen
        if isinstance(event, CardScanned):
            if screen in ("home", "identify"):
                card = event.card
                read = st.CardRead(card.name, {"id_hash": card.id_hash(self.id_key),
                                               "name_masked": card.masked_name}, now)
                if screen == "home":  # a booked citizen taps the card: their appointment first
                    body, lang = {"citizen": {"id_hash": read.citizen["id_hash"]}}, self.state.lang
                    self.run(lambda: self._check_in_job(body, lang), lambda out: self._checked_in(out, read))
                else:
                    self._dispatch(read)
        elif isinstance(event, ScanRejected):
            if screen in ("home", "identify"):
                self._dispatch(st.Notice(f"cccd.{event.reason}", now))
        elif isinstance(event, TextScanned):
            token = track_token(event.text)
            booked = appointment_token(event.text) if token is None else None
            if booked is not None:
                if screen in ("home", "track", "identify", "priority"):
                    lang = self.state.lang
                    self.run(lambda: self._check_in_job({"token": booked}, lang), self._checked_in)
            elif token is None:
                if screen in ("home", "identify"):
                    self._dispatch(st.Notice("cccd.not_cccd", now))
            elif screen in ("home", "track", "identify", "priority"):
                self.run(lambda: self._lookup(token), self._tracked)

    def _lookup(self, token: str) -> tuple[dict[str, Any] | None, str | None]:
        """A scanned ticket QR: check a remote ticket in (the only way a phone's ticket gets called
        without the centre's Wi-Fi), then show the ticket's state."""
        arrived = None
        try:
            checked = self.client.check_in_remote(token)
            if checked.get("remote") and checked.get("checked_in"):
                arrived = "track.back_in_line" if checked.get("back_in_line") else "track.checked_in"
        except ServerError as err:  # not a ticket of this site, or an older server: just show it
            log.info("check-in not done: %s", err)
        try:
            return self.client.track(token), arrived
        except TrackUnavailable as err:
            if err.code not in ("server.refused",):  # a real "no such ticket" from the server
                return None, "track.not_found"
        except ServerError as err:
            log.info("track lookup failed: %s", err)
        number = self._recent.get(token)  # the server cannot tell; the kiosk remembers its own
        return ({"number": number} if number else None), "track.unavailable"

    def _tracked(self, result: tuple[dict[str, Any] | None, str | None]) -> None:
        info, notice = result
        self._dispatch(st.Tracked(info, notice, self.clock()))

    # ---- issuing --------------------------------------------------------------------------------
    def ticket_body(self) -> dict[str, Any]:
        """Exactly what the server accepts, nothing more (it refuses unknown fields)."""
        s = self.state
        body: dict[str, Any] = {"service": s.service, "idempotency_key": s.flow_key}
        if s.priority:
            body["priority"] = s.priority
        if s.citizen:
            body["citizen"] = {"id_hash": s.citizen["id_hash"], "name_masked": s.citizen["name_masked"]}
        return body

    def _issue(self) -> None:
        body, lang = self.ticket_body(), self.state.lang
        self.run(lambda: self._issue_job(body, lang), self._issued)

    def _issue_job(self, body: dict[str, Any], lang: str) -> IssueOutcome:
        """Worker side: POST with the same key until it works or the delays run out; then print."""
        attempts = 0
        for delay in (*self.retry_delays, None):
            attempts += 1
            try:
                ticket, created = self.client.issue_ticket(body)
                break
            except ServerUnreachable as err:
                log.warning("issue attempt %d failed: %s", attempts, err)
                if delay is None:
                    return IssueOutcome(None, attempts, error=err.code)
                self.sleep(delay)
            except ServerError as err:  # refused: retrying the same request cannot help
                log.error("server refused the ticket: %s", err)
                return IssueOutcome(None, attempts, error=err.code)
        if not created:
            log.info("ticket %s replayed for key %s", ticket["number"], body["idempotency_key"])
        return IssueOutcome(ticket, attempts, print_problem=self._print(ticket, lang))

    def ticket_view(self, ticket: dict[str, Any], lang: str) -> TicketView:
        svc = self.service(ticket["service"]) or {"name_vi": ticket["service"], "name_en": None}
        issued = datetime.fromisoformat(ticket["issued_at"])
        if issued.tzinfo is not None:
            issued = issued.astimezone(LOCAL_TZ)
        return TicketView(centre=self.centre, number=ticket["number"], service_vi=svc["name_vi"],
                          service_en=(svc.get("name_en") or svc["name_vi"]) if lang == "en" else None,
                          issued_at=issued, ahead=ticket["ahead"], est_wait_s=ticket["est_wait_s"],
                          track_url=ticket["track_url"])

    def _print(self, ticket: dict[str, Any], lang: str) -> str | None:
        if self.printer is None:
            return "printer.offline"
        try:
            self.printer.print_ticket(self.ticket_view(ticket, lang))
        except DeviceError as err:
            log.warning("ticket %s not printed: %s", ticket["number"], err)
            self._report_printer(err)
            return err.key
        self._report_printer(None)
        return None

    # ---- appointments: the confirmation QR or the CCCD of a booked citizen --------------------
    def _check_in_job(self, body: dict[str, Any], lang: str) -> IssueOutcome:
        try:
            ticket, _created = self.client.check_in(body)
        except ServerUnreachable as err:
            return IssueOutcome(None, 1, error=err.code)
        except ServerError as err:
            return IssueOutcome(None, 1, error=err.code)
        return IssueOutcome(ticket, 1, print_problem=self._print(ticket, lang))

    def _checked_in(self, outcome: IssueOutcome, card: st.CardRead | None = None) -> None:
        now = self.clock()
        if outcome.ticket is not None:
            self._dispatch(st.CheckedIn(now))
            self._issued(outcome)
        elif card is not None:  # no appointment for this card: the usual flow, greeted
            self._dispatch(replace(card, now=now))
        elif outcome.error and outcome.error.startswith("server.") and outcome.error != "server.refused":
            self._dispatch(st.Notice("appointment.refused", now))
        else:
            self._dispatch(st.Notice(f"appointment.{outcome.error}", now))

    def _issued(self, outcome: IssueOutcome) -> None:
        now = self.clock()
        if outcome.ticket is None:
            self._dispatch(st.IssueFailed(now, outcome.attempts))
            return
        ticket = outcome.ticket
        self._recent[ticket["token"]] = ticket["number"]
        while len(self._recent) > RECENT_TICKETS:
            self._recent.popitem(last=False)
        self._dispatch(st.TicketIssued(ticket, outcome.print_problem, now, outcome.attempts))

    def _report_printer(self, err: DeviceError | None) -> None:
        if self.status is None:
            return
        report = (True, "ok") if err is None else (False, err.code.split(".", 1)[-1])
        if report != self._printer_reported:
            self._printer_reported = report
            self.status.printer(*report)
