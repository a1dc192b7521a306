"""The official's terminal as a view-model: every button and F-key is a method here.

Plain Python over :class:`CounterClient`; the Kivy view only shows the attributes and calls the
methods (off the UI thread, one at a time — the lock makes a double key press harmless).
A refused action leaves the state as it was and puts the server's error, as a plain Vietnamese
sentence, in ``message`` (``message_is_error`` set, ``error_code`` the server's code).

Today's counts are what this terminal did since it was started today (the server's reports are
the record; these are the official's own tally at a glance).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .client import CounterClient, ServerError
from .dossier_desk import DossierDesk
from .messages import DONE_VI, PRIORITY_VI, STATUS_VI, TICKET_STATUS_VI, error_sentence
from .refusal import Notice, TerminalError
from .voice import site_timezone

log = logging.getLogger(__name__)

KEYS = {"f1": "call_next", "f2": "recall", "f3": "start", "f4": "finish", "f5": "no_show", "f6": "park",
        "f7": "call_selected", "f8": "resume_selected", "f10": "reprint"}
COUNTS = ("called", "served", "no_show", "parked", "transferred")


@dataclass(frozen=True)
class WaitingRow:
    id: int
    number: str
    service: str
    service_name: str
    priority: str  # Vietnamese, "" when none
    status: str  # waiting | parked
    waited_min: int
    for_me: bool  # transferred or parked to this very counter

    @property
    def waited_text(self) -> str:
        return f"{self.waited_min} phút"


class TerminalModel(DossierDesk):
    def __init__(self, client: CounterClient, *, clock: Callable[[], datetime] | None = None,
                 printer: Any = None) -> None:
        self.client = client
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.logged_in = False
        self.counter_label = client.counter
        self.counter_status = "closed"
        self.pause_reason: str | None = None
        self.services: list[str] = []  # what this counter serves, in its order
        self.service_names: dict[str, str] = {}
        self.other_counters: dict[str, str] = {}  # id → label, for transfers
        self.current: dict[str, Any] | None = None  # the ticket at the counter (server's view)
        self.waiting: list[WaitingRow] = []
        self.selected: str | None = None
        self.counts = dict.fromkeys(COUNTS, 0)
        self.message = "Hãy đăng nhập."
        self.message_is_error = False
        self.error_code: str | None = None
        self.busy = False
        self._day = None
        self._zone = site_timezone()
        self._lock = threading.RLock()
        self._listeners: list[Callable[[], None]] = []
        self._init_dossiers(printer)

    # ---- observing ----------------------------------------------------------------------------
    def listen(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("terminal listener failed")

    @property
    def status_text(self) -> str:
        text = STATUS_VI.get(self.counter_status, self.counter_status)
        return f"{text}: {self.pause_reason}" if self.counter_status == "paused" and self.pause_reason else text

    @property
    def current_number(self) -> str:
        return self.current["number"] if self.current else "—"

    @property
    def current_status_text(self) -> str:
        return TICKET_STATUS_VI.get(self.current["status"], "") if self.current else ""

    # ---- running an action --------------------------------------------------------------------
    def _run(self, name: str, work: Callable[[], str | Notice | None], *, refresh: bool = True) -> bool:
        with self._lock:
            self.busy = True
            self._notify()
            try:
                if not self.logged_in and name != "login":
                    raise TerminalError("not_logged_in")
                done = work()
                ok = True
                if isinstance(done, Notice):  # done, but say what went wrong on the side
                    self.message, self.message_is_error, self.error_code, ok = done.text, True, done.code, done.ok
                else:
                    self.message, self.message_is_error, self.error_code = done or "", False, None
                if refresh and self.logged_in:
                    self._refresh_waiting()
            except (ServerError, TerminalError) as err:
                log.info("%s refused: %s", name, err)
                self.message, self.message_is_error, self.error_code = error_sentence(err.code), True, err.code
                ok = False
            finally:
                self.busy = False
            self._notify()
            return ok

    def _count(self, what: str) -> None:
        day = self.clock().astimezone(self._zone).date()
        if day != self._day:
            self._day, self.counts = day, dict.fromkeys(COUNTS, 0)
        self.counts[what] += 1

    def _ticket_id(self) -> int:
        if not self.current:
            raise TerminalError("no_ticket")
        if self.current.get("id") is None:  # known by number only (terminal restarted mid-call)
            raise TerminalError("ticket_id_unknown")
        return int(self.current["id"])

    def _ticket_action(self, action: str, count: str | None = None) -> str:
        view = self.client.action(self._ticket_id(), action)
        number = view["number"]
        if count:
            self._count(count)
        self.current = view if view["status"] in ("called", "serving") else None
        return DONE_VI[action].format(number=number)

    def _called(self, view: dict[str, Any]) -> str:
        if self.current and self.current.get("status") == "serving":
            self._count("served")  # calling while serving finishes the one at the counter
        self.current = view
        self._count("called")
        return DONE_VI["call"].format(number=view["number"])

    # ---- session and counter ------------------------------------------------------------------
    def login(self, username: str, password: str) -> bool:
        def work() -> str:
            self.client.login(username, password)
            self.logged_in = True
            self._load_counter()
            return f"Xin chào {username}. {self.status_text}."
        return self._run("login", work)

    def logout(self) -> None:
        with self._lock:
            self.client.logout()
            self.logged_in, self.current, self.waiting = False, None, []
            self.dossier, self.dossiers, self.last_slip, self.print_pending = None, {}, None, False
            self.message, self.message_is_error = "Hãy đăng nhập.", False
        self._notify()

    def _load_counter(self) -> None:
        menu = self.client.services()
        self.service_names = {s["id"]: s["name_vi"] for s in menu}
        self._load_procedures(menu)
        found = False
        for row in self.client.counters():
            if row["counter"] == self.client.counter:
                found = True
                self.counter_label, self.counter_status = row["label"], row["status"]
                self.pause_reason, self.services = row.get("pause_reason"), list(row.get("services", []))
                if row.get("ticket_id"):  # current ticket after a terminal restart, if the server tells
                    self.current = self.client.ticket(int(row["ticket_id"]))
                elif row.get("ticket") and not self.current:
                    self.current = {"id": None, "number": row["ticket"], "status": "called",
                                    "service": row.get("service")}
            else:
                self.other_counters[row["counter"]] = row["label"]
        if not found:
            self.logged_in = False
            raise TerminalError("unknown_counter")

    def _set_counter(self, view: dict[str, Any], action: str) -> str:
        self.counter_status, self.pause_reason = view["status"], view.get("pause_reason")
        return DONE_VI[action]

    def open(self) -> bool:
        return self._run("open", lambda: self._set_counter(self.client.open(), "open"))

    def pause(self, reason: str) -> bool:
        return self._run("pause", lambda: self._set_counter(self.client.pause(reason.strip() or " "), "pause"))

    def close(self) -> bool:
        return self._run("close", lambda: self._set_counter(self.client.close_counter(), "close"))

    # ---- calling ------------------------------------------------------------------------------
    def call_next(self) -> bool:
        return self._run("call_next", lambda: self._call(self.client.call_next))

    def call_ticket(self, number: str) -> bool:
        return self._run("call_ticket", lambda: self._call(lambda: self.client.call_ticket(number.strip().upper())))

    def _call(self, send: Callable[[], dict[str, Any]]) -> str | Notice:
        """Call; if the server says someone is already called here (a call whose answer was lost,
        another terminal of this counter), take that ticket up instead of leaving the screen stale."""
        try:
            return self._called(send())
        except ServerError as err:
            held = err.details.get("ticket") if err.code == "counter_busy" else None
            if not isinstance(held, dict) or not held.get("id"):
                raise
            self.current = self.client.ticket(int(held["id"]))
            text = f"Số {self.current['number']} đang ở quầy này. {error_sentence('counter_busy')}"
            return Notice(text, "counter_busy", ok=False)

    def select(self, number: str | None) -> None:
        with self._lock:
            self.selected = number
        self._notify()

    def call_selected(self) -> bool:
        if self.selected is None:
            return self._run("call_selected", self._no_selection, refresh=False)
        return self.call_ticket(self.selected)

    def _no_selection(self) -> str:
        raise TerminalError("no_selection")

    # ---- the ticket at the counter ------------------------------------------------------------
    def recall(self) -> bool:
        return self._run("recall", lambda: self._ticket_action("recall"))

    def start(self) -> bool:
        return self._run("start", lambda: self._ticket_action("start"))

    def finish(self) -> bool:
        return self._run("finish", lambda: self._ticket_action("finish", "served"))

    def no_show(self) -> bool:
        return self._run("no_show", lambda: self._ticket_action("no-show", "no_show"))

    def park(self) -> bool:
        return self._run("park", lambda: self._ticket_action("park", "parked"))

    def transfer(self, *, service: str | None = None, counter: str | None = None) -> bool:
        def work() -> str:
            view = self.client.transfer(self._ticket_id(), service=service, counter=counter)
            self._count("transferred")
            self.current = None
            return DONE_VI["transfer"].format(number=view["number"])
        return self._run("transfer", work)

    def resume(self, number: str) -> bool:
        """A parked citizen is back: put their ticket in the queue again (then call it)."""
        def work() -> str:
            row = next((r for r in self.waiting if r.number == number and r.status == "parked"), None)
            if row is None:
                raise TerminalError("unknown_ticket")
            view = self.client.action(row.id, "resume")
            return DONE_VI["resume"].format(number=view["number"])
        return self._run("resume", work)

    def resume_selected(self) -> bool:
        if self.selected is None:
            return self._run("resume_selected", self._no_selection, refresh=False)
        return self.resume(self.selected)

    def key(self, name: str) -> bool | None:
        """A function key (``"f1"``…) or keypad key; None when it means nothing here."""
        method = KEYS.get(name.lower())
        return getattr(self, method)() if method else None

    # ---- the waiting list ---------------------------------------------------------------------
    def refresh(self) -> bool:
        return self._run("refresh", lambda: None)

    def _refresh_waiting(self) -> None:
        me = self.client.counter
        rows = []
        for t in self.client.waiting():
            target = t.get("target_counter")
            if target not in (None, me) or (target is None and t["service"] not in self.services):
                continue
            rows.append(WaitingRow(
                id=t["id"], number=t["number"], service=t["service"],
                service_name=self.service_names.get(t["service"], t["service"]),
                priority=PRIORITY_VI.get(t.get("priority") or "", ""), status=t["status"],
                waited_min=int(t.get("waited_s", 0)) // 60, for_me=target == me,
            ))
        # the order this counter calls in: its own first, then priority, then longest waiting
        rank = {s: i for i, s in enumerate(self.services)}
        rows.sort(key=lambda r: (not r.for_me, r.status != "waiting", rank.get(r.service, 99), not r.priority,
                                 -r.waited_min))
        self.waiting = rows
        if self.selected and all(r.number != self.selected for r in rows):
            self.selected = None
